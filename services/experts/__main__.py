"""`python -m services.experts`: run an expert worker (start more to scale)."""

from __future__ import annotations

import uvloop

from contracts.lifecycle import run_until_signalled
from services.experts.app import create_app
from services.experts.settings import ExpertSettings


def main() -> None:
    # uvloop: C event loop and transports; asyncio's Python socket transport alone was
    # 8-14 % of these services' busy samples under load.
    # Stops within contracts.lifecycle.STOP_GRACE_S of Ctrl-C or SIGTERM, broker or not.
    app = create_app(ExpertSettings())
    uvloop.run(run_until_signalled(app, "experts", exit_if_stalled=True))


if __name__ == "__main__":
    main()

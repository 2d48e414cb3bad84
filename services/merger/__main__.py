"""`python -m services.merger`: run a merger (start more to scale)."""

from __future__ import annotations

import uvloop

from contracts.lifecycle import run_until_signalled
from services.merger.app import create_app
from services.merger.settings import MergerSettings


def main() -> None:
    # uvloop: C event loop and transports; asyncio's Python socket transport alone was
    # 8-14 % of these services' busy samples under load.
    # Stops within contracts.lifecycle.STOP_GRACE_S of Ctrl-C or SIGTERM, broker or not.
    app = create_app(MergerSettings())
    uvloop.run(run_until_signalled(app, "merger", exit_if_stalled=True))


if __name__ == "__main__":
    main()

"""`python -m services.merger`: run a merger (start more to scale)."""

from __future__ import annotations

import uvloop

from services.merger.app import create_app
from services.merger.settings import MergerSettings


def main() -> None:
    # uvloop: C event loop and transports; asyncio's Python socket transport alone was
    # 8-14 % of these services' busy samples under load.
    uvloop.run(create_app(MergerSettings()).run())


if __name__ == "__main__":
    main()

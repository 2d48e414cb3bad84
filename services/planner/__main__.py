"""`python -m services.planner`: run a planner worker (start more to scale)."""

from __future__ import annotations

import uvloop

from services.planner.app import create_app
from services.planner.settings import PlannerSettings


def main() -> None:
    # uvloop: C event loop and transports; asyncio's Python socket transport alone was
    # 8-14 % of these services' busy samples under load.
    uvloop.run(create_app(PlannerSettings()).run())


if __name__ == "__main__":
    main()

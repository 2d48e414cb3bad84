"""`python -m services.planner`: run a planner worker (start more to scale)."""

from __future__ import annotations

import asyncio

from services.planner.app import create_app
from services.planner.settings import PlannerSettings


def main() -> None:
    asyncio.run(create_app(PlannerSettings()).run())


if __name__ == "__main__":
    main()

"""`python -m services.experts`: run an expert worker (start more to scale)."""

from __future__ import annotations

import asyncio

from services.experts.app import create_app
from services.experts.settings import ExpertSettings


def main() -> None:
    asyncio.run(create_app(ExpertSettings()).run())


if __name__ == "__main__":
    main()

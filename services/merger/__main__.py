"""`python -m services.merger`: run a merger (start more to scale)."""

from __future__ import annotations

import asyncio

from services.merger.app import create_app
from services.merger.settings import MergerSettings


def main() -> None:
    asyncio.run(create_app(MergerSettings()).run())


if __name__ == "__main__":
    main()

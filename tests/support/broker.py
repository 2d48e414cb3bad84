"""A real Tansu broker for a test, on a free port, with every topic created."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from deploy.local import free_port, start_broker


@asynccontextmanager
async def running_broker(log_dir: Path) -> AsyncIterator[str]:
    """Yields the broker's bootstrap address; stops the broker on exit."""
    port = free_port()
    broker = await start_broker(port, log_dir)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        broker.stop()

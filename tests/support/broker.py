"""A real Apache Kafka broker for a test, on free ports, with every topic created."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from deploy.local import free_port, start_broker
from deploy.local.broker import KafkaNode


@asynccontextmanager
async def running_broker(work_dir: Path) -> AsyncIterator[str]:
    """Yields the broker's bootstrap address; stops the broker on exit. Its log and
    state live under `work_dir`."""
    node = KafkaNode(port=free_port(), controller_port=free_port(), state_dir=work_dir / "kafka")
    broker = await start_broker(node, work_dir)
    try:
        yield node.bootstrap
    finally:
        broker.stop()

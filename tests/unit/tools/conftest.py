"""Fixtures of the tools unit tests: one worker pool for the session (forking workers is
the slow part) and a runner over it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.tools.pool import WorkerPool
from services.tools.runner import ToolRunner
from services.tools.settings import ToolsSettings


@pytest.fixture(scope="session")
async def pool() -> AsyncIterator[WorkerPool]:
    workers = WorkerPool(size=2, memory_mb=1024)
    await workers.start()
    yield workers
    await workers.close()


@pytest.fixture
def runner(pool: WorkerPool) -> ToolRunner:
    return ToolRunner(pool, timeout=5.0)


@pytest.fixture
def settings() -> ToolsSettings:
    return ToolsSettings(kafka_url="127.0.0.1:1", searxng_url="", heartbeat_interval=0.05)

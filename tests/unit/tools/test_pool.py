"""The worker pool: calls run in parallel, overruns and crashes cost one worker (which is
replaced), a cancelled call does not leave a busy worker behind, close() ends them all."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from services.tools.pool import WorkerPool
from services.tools.registry import ToolError

pytestmark = pytest.mark.timeout(60)
SLOW_REGEX = {"pattern": "(a|aa)+$", "text": "a" * 100 + "b", "flags": "", "max_matches": 1}


@pytest.fixture
async def small_pool() -> AsyncIterator[WorkerPool]:
    pool = WorkerPool(size=1, memory_mb=1024)
    await pool.start()
    yield pool
    await pool.close()


def worker_pids(pool: WorkerPool) -> set[int | None]:
    return {worker.process.pid for worker in pool._all}


async def test_calls_run_in_parallel(pool: WorkerPool) -> None:
    calls = [asyncio.create_task(pool.run("regex_extract", SLOW_REGEX, 1.0)) for _ in range(2)]
    # Side by side, not in a row: both calls hold a worker of their own at the same time
    # (a pool that ran them one after the other would keep one worker idle until the
    # first call ended). Shown by state, not by a wall-clock limit.
    while pool._idle and not any(call.done() for call in calls):  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    assert not pool._idle and not any(call.done() for call in calls)
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert all(isinstance(o, ToolError) and o.code == "timeout" for o in outcomes)


async def test_overrun_replaces_only_that_worker(small_pool: WorkerPool) -> None:
    before = worker_pids(small_pool)
    with pytest.raises(ToolError) as info:
        await small_pool.run("regex_extract", SLOW_REGEX, 0.5, "pattern")
    assert (info.value.code, info.value.argument) == ("timeout", "pattern")
    assert worker_pids(small_pool).isdisjoint(before)  # the stuck process is gone
    assert (await small_pool.run("calculate", {"expression": "2+2"}, 5))["result"] == 4


async def test_crashed_worker_is_reported_and_replaced(small_pool: WorkerPool) -> None:
    call = asyncio.create_task(small_pool.run("regex_extract", SLOW_REGEX, 10.0))
    await asyncio.sleep(0.3)
    for worker in list(small_pool._all):
        worker.process.kill()  # what the kernel's OOM killer would do
    with pytest.raises(ToolError) as info:
        await call
    assert info.value.code == "resource_limit"
    assert (await small_pool.run("calculate", {"expression": "3*3"}, 5))["result"] == 9


async def test_cancelled_call_frees_its_slot(small_pool: WorkerPool) -> None:
    call = asyncio.create_task(small_pool.run("regex_extract", SLOW_REGEX, 30.0))
    await asyncio.sleep(0.3)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    async with asyncio.timeout(5):  # the only slot is free again, well before 30 s
        assert (await small_pool.run("calculate", {"expression": "1+1"}, 5))["result"] == 2


async def test_tool_errors_keep_the_worker(small_pool: WorkerPool) -> None:
    before = worker_pids(small_pool)
    with pytest.raises(ToolError):
        await small_pool.run("calculate", {"expression": "1/0"}, 5)
    assert worker_pids(small_pool) == before


async def test_close_ends_every_worker() -> None:
    pool = WorkerPool(size=2)
    await pool.start()
    processes = [worker.process for worker in pool._all]
    await pool.close()
    assert processes and not any(process.is_alive() for process in processes)


def _running(pid: int | None) -> bool:
    """Whether `pid` is a live process (not gone, not a zombie waiting to be reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def test_closing_one_pool_leaves_another_able_to_kill_its_workers() -> None:
    """Pools share a forkserver, which the last one to close stops; until then a worker
    that overruns is still killed (its exit status comes through the forkserver)."""
    first, second = WorkerPool(size=1), WorkerPool(size=1)
    await first.start()
    await second.start()
    try:
        await first.close()
        [stuck] = worker_pids(second)
        with pytest.raises(ToolError):
            await second.run("regex_extract", SLOW_REGEX, 0.5)
        assert not _running(stuck)
        assert (await second.run("calculate", {"expression": "6*7"}, 5))["result"] == 42
    finally:
        await second.close()
    assert not _running(stuck)

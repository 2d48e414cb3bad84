"""The launcher's supervisor with real processes: one that exits is started again, one
that stops answering its liveness check is replaced, and each restart is reported."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from deploy.local.component import Component
from deploy.local.supervisor import Policy, Supervisor

FAST = Policy(
    exit_check_s=0.05, liveness_every_s=0.1, failed_checks_before_restart=2, first_backoff_s=0.05
)


def sleeper(log_dir: Path, seconds: float, liveness: Callable[[], Awaitable[bool]] | None = None):
    return Component(
        name="sleeper",
        command=[
            sys.executable,
            "-c",
            f"import time; print('up', flush=True); time.sleep({seconds})",
        ],
        log_path=log_dir / "sleeper.log",
        ready_text="up",
        liveness=liveness,
        grace_s=2.0,
    )


@pytest.fixture
async def supervised() -> AsyncIterator[Callable[[Component], list[tuple[str, str, int]]]]:
    stop = asyncio.Event()
    running: list[tuple[asyncio.Task[None], Component]] = []

    def supervise(component: Component) -> list[tuple[str, str, int]]:
        restarts: list[tuple[str, str, int]] = []
        supervisor = Supervisor([component], lambda *r: restarts.append(r), FAST)
        running.append((asyncio.create_task(supervisor.run(stop)), component))
        return restarts

    yield supervise
    stop.set()
    for task, component in running:
        await task
        component.stop(1.0)


async def wait_until(condition: Callable[[], bool], timeout_s: float = 15.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():  # noqa: ASYNC110 - the supervisor runs in another task
            await asyncio.sleep(0.05)


async def test_a_component_that_exits_is_started_again(tmp_path: Path, supervised) -> None:  # type: ignore[no-untyped-def]
    component = sleeper(tmp_path, seconds=0.3)
    await component.start()
    first_pid = component.pid
    restarts = supervised(component)
    await wait_until(lambda: len(restarts) >= 1 and component.running)
    name, reason, count = restarts[0]
    assert (name, count) == ("sleeper", 1) and "exited with code 0" in reason
    assert component.pid != first_pid
    # The log keeps the first run's lines above the restart marker.
    log = component.log_path.read_text()
    assert log.count("up") >= 2 and "restarted by the launcher: exited with code 0" in log


async def test_an_unresponsive_component_is_replaced(tmp_path: Path, supervised) -> None:  # type: ignore[no-untyped-def]
    answering = True

    async def liveness() -> bool:
        return answering

    component = sleeper(tmp_path, seconds=60, liveness=liveness)
    await component.start()
    first_pid = component.pid
    restarts = supervised(component)
    await asyncio.sleep(0.5)
    assert restarts == []  # answering: left alone
    answering = False
    await wait_until(lambda: len(restarts) == 1)
    answering = True
    await wait_until(lambda: component.running and component.pid != first_pid)
    assert "unresponsive for 2 checks" in restarts[0][1]

"""A service stops within its grace period whatever hangs (contracts.lifecycle), and
beats on moe.registry with a liveness file beside (contracts.liveness)."""

import asyncio
import gc
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from aiokafka.errors import KafkaConnectionError
from faststream import FastStream
from faststream.kafka import KafkaBroker, TestKafkaBroker

from contracts import WorkerHeartbeat
from contracts.lifecycle import run_until_signalled
from contracts.liveness import Heartbeat
from contracts.topics import REGISTRY
from contracts.wire import make_broker
from tests.unit.conftest import capture


async def sigterm_after(
    ready: asyncio.Event, app: FastStream, broker: KafkaBroker, grace_s: float
) -> float:
    """Run `app` under run_until_signalled, SIGTERM this process once `ready` is set, and
    return the seconds from the signal until run_until_signalled returned."""
    async with TestKafkaBroker(broker):
        running = asyncio.create_task(run_until_signalled(app, "test", grace_s))
        await asyncio.wait_for(ready.wait(), 5)
        signalled = time.monotonic()
        os.kill(os.getpid(), signal.SIGTERM)  # caught by the loop's handler while it runs
        await asyncio.wait_for(running, 10)
        return time.monotonic() - signalled


async def test_a_stop_step_that_hangs_is_given_up_after_the_grace_period() -> None:
    broker, started = make_broker("unused:9092", "test"), asyncio.Event()
    app = FastStream(broker)
    app.after_startup(started.set)

    async def hang() -> None:
        await asyncio.sleep(60)

    app.on_shutdown(hang)
    assert await sigterm_after(started, app, broker, grace_s=0.3) < 1.0


async def test_what_start_up_allocated_is_frozen_out_of_the_collectors_reach() -> None:
    broker, started = make_broker("unused:9092", "test"), asyncio.Event()
    app = FastStream(broker)
    app.after_startup(started.set)
    gc.unfreeze()
    try:
        await sigterm_after(started, app, broker, grace_s=1.0)
        assert gc.get_freeze_count() > 10_000  # the modules and the app, at the least
    finally:
        gc.unfreeze()


async def test_a_signal_during_a_start_that_hangs_abandons_the_start() -> None:
    broker, starting = make_broker("unused:9092", "test"), asyncio.Event()
    app = FastStream(broker)

    async def connect_forever() -> None:
        starting.set()
        await asyncio.sleep(60)

    app.on_startup(connect_forever)
    assert await sigterm_after(starting, app, broker, grace_s=0.3) < 1.0


async def test_heartbeat_is_published_and_the_liveness_file_written(tmp_path: Path) -> None:
    broker = make_broker("unused:9092", "planner")
    seen = capture(broker, [REGISTRY])
    liveness = tmp_path / "planner.alive"
    beat = Heartbeat(broker, "planner", "planner-1", ["moe.requests"], liveness_file=liveness)
    async with TestKafkaBroker(broker):
        assert await beat.beat_once() is None
        [published] = await seen.wait_for(REGISTRY)
    assert isinstance(published, WorkerHeartbeat)
    assert (published.request_id, published.worker_id, published.service) == (
        "planner-1",
        "planner-1",
        "planner",
    )
    record = json.loads(liveness.read_text())
    assert record["heartbeat"] == "published" and time.time() - record["at"] < 5


class UnreachableBroker:
    async def publish(self, *_: Any, **__: Any) -> None:
        raise KafkaConnectionError("broker gone")


async def test_the_liveness_file_is_written_even_when_the_broker_is_gone(tmp_path: Path) -> None:
    liveness = tmp_path / "experts.alive"
    beat = Heartbeat(
        UnreachableBroker(),  # type: ignore[arg-type]
        "experts",
        "experts-1",
        ["moe.tasks.expert"],
        liveness_file=liveness,
    )
    failure = await beat.beat_once()
    assert failure is not None and "broker gone" in failure
    assert "broker gone" in json.loads(liveness.read_text())["heartbeat"]

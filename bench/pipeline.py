"""The full pipeline with a 3-task plan and synthesis, published straight to the topics
as a load tester does (the planner makes one-task plans only, today): PlanCreated to
moe.plans and three expert TaskAssigned events, answered in parallel by the scripted model
with known, different timings, then the merger's judge call with its own known timing
(given in the plan's question, which the judge's prompt ends with); timed until ReplyDone
reaches moe.replies. Baseline, the critical path: the same three model calls made
directly and concurrently, then the judge's call made directly after them."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pydantic import TypeAdapter

from bench.client import Endpoint, timed_chat
from bench.config import ModelTiming
from contracts import (
    ChatMessage,
    PlanCreated,
    ReplyDone,
    ReplyError,
    ReplyEvent,
    TaskAssigned,
    TaskSpec,
    new_id,
)
from contracts.topics import PARTITIONS, PLANS, REPLIES, task_topic
from contracts.wire import FETCH_MAX_WAIT_MS, event_headers

REPLY_ADAPTER: TypeAdapter[ReplyEvent] = TypeAdapter(ReplyEvent)
# moe.tasks.expert -> moe.results -> moe.replies (the plan travels alongside); the judge's
# HTTP call sits between the last two.
HOPS = 3


def scripted(text: str, timing: ModelTiming) -> str:
    """`text` carrying the model timing of the call whose prompt ends with it."""
    return f"{text} SCRIPT{json.dumps(timing.script(stamp_tokens=False))}"


def task_text(index: int, timing: ModelTiming) -> str:
    """The task as the expert passes it to the model, carrying its own model timing."""
    return scripted(f"Part {index} of the benchmark question.", timing)


def question_text(synthesis: ModelTiming) -> str:
    """The plan's question, carrying the judge's timing: the judge's prompt quotes the
    tasks (and their timings) first and ends with the question, whose SCRIPT wins."""
    return scripted("benchmark: a three-part question", synthesis)


class ReplyWatcher:
    """Reads moe.replies from its end and resolves each awaited request's future with
    the time its ReplyDone (or ReplyError) arrived."""

    def __init__(self, bootstrap: str) -> None:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
            enable_auto_commit=False,
        )
        self._waiting: dict[str, asyncio.Future[tuple[float, ReplyEvent]]] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        partitions = [TopicPartition(REPLIES, p) for p in range(PARTITIONS[REPLIES])]
        self._consumer.assign(partitions)
        await self._consumer.start()
        await self._consumer.seek_to_end(*partitions)
        for partition in partitions:  # resolve "end" now, before anything is published
            await self._consumer.position(partition)
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()

    def expect(self, request_id: str) -> asyncio.Future[tuple[float, ReplyEvent]]:
        future: asyncio.Future[tuple[float, ReplyEvent]] = (
            asyncio.get_running_loop().create_future()
        )
        self._waiting[request_id] = future
        return future

    async def _run(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=100)
            arrived = time.perf_counter()
            for records in batches.values():
                for record in records:
                    key = record.key.decode() if record.key else ""
                    if record.value is None or key not in self._waiting:
                        continue  # other requests' replies, or a /health canary's pong
                    event = REPLY_ADAPTER.validate_json(record.value)
                    if isinstance(event, ReplyDone | ReplyError):
                        future = self._waiting.pop(event.request_id, None)
                        if future is not None and not future.done():
                            future.set_result((arrived, event))


async def publish_plan(
    producer: AIOKafkaProducer,
    request_id: str,
    tasks: Sequence[ModelTiming],
    synthesis: ModelTiming,
) -> None:
    """Publish a plan and its tasks in the planner's order (plan first, each awaited)."""
    specs = [
        TaskSpec(id=f"{request_id}:{i}", task=task_text(i, timing))
        for i, timing in enumerate(tasks, 1)
    ]
    question = question_text(synthesis)
    plan = PlanCreated(request_id=request_id, question=question, tasks=specs)
    messages = [ChatMessage(role="user", content=question)]
    events = [(plan, PLANS)] + [
        (TaskAssigned(request_id=request_id, task=spec, messages=messages), task_topic("expert"))
        for spec in specs
    ]
    headers = [(k, v.encode()) for k, v in event_headers().items()]
    for event, topic in events:
        await producer.send_and_wait(
            topic, event.model_dump_json().encode(), key=request_id.encode(), headers=headers
        )


async def critical_path(
    client: httpx.AsyncClient,
    direct: Endpoint,
    tasks: Sequence[ModelTiming],
    synthesis: ModelTiming,
) -> float:
    """Wall time of the plan's model calls made directly: the tasks concurrently, then
    the judge's call, which needs all of their answers."""
    started = time.perf_counter()
    calls = [timed_chat(client, direct, task_text(i, t)) for i, t in enumerate(tasks, 1)]
    timings = await asyncio.gather(*calls)
    timings.append(await timed_chat(client, direct, question_text(synthesis)))
    if not all(t.ok for t in timings):
        raise RuntimeError(f"direct model call failed: {[t.error for t in timings]}")
    return time.perf_counter() - started


async def measure_pipeline(
    bootstrap: str,
    client: httpx.AsyncClient,
    direct: Endpoint,
    tasks: Sequence[ModelTiming],
    synthesis: ModelTiming,
    requests: int,
    timeout_s: float = 30.0,
) -> tuple[list[float], list[float], int]:
    """Pipeline totals, critical-path baselines (seconds) and the error count. A reply
    that is not the judge's stream (one chunk per judge token) counts as an error: a
    judge that failed before its first token falls back to concatenation, which would
    flatter the figure."""
    watcher = ReplyWatcher(bootstrap)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await asyncio.gather(watcher.start(), producer.start())
    totals: list[float] = []
    baselines: list[float] = []
    errors = 0
    try:
        for round_ in range(requests + 1):
            baseline = await critical_path(client, direct, tasks, synthesis)
            request_id = new_id("bench-plan-")
            done = watcher.expect(request_id)
            started = time.perf_counter()
            await publish_plan(producer, request_id, tasks, synthesis)
            arrived, event = await asyncio.wait_for(done, timeout_s)
            if round_ == 0:  # warm-up: opens the experts' and the judge's connections
                continue
            if not isinstance(event, ReplyDone) or event.seq != synthesis.tokens:
                errors += 1
                continue
            totals.append(arrived - started)
            baselines.append(baseline)
        return totals, baselines, errors
    finally:
        await asyncio.gather(watcher.stop(), producer.stop())

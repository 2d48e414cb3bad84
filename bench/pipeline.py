"""Plans published straight to the topics as a load tester does, timed until their
ReplyDone reaches moe.replies, each against its critical path made directly in the same
run:

- the full pipeline: a 3-task plan (PlanCreated to moe.plans, three expert
  TaskAssigned events) answered in parallel by the scripted model with known, different
  timings, then the merger's thinking step and judge call, each with the known timing
  given in the plan's question (which both prompts end with). Critical path: the three
  calls concurrently, then the thinking call, then the judge's call.
- tier escalation: a one-task `math` plan whose category has two tier-1 models and a
  tier-2 model; the scripted answers state no confidence (medium), so tier 2 is always
  asked. Critical path: the task's call, then the same call again (tier 1 at once, then
  tier 2)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pydantic import TypeAdapter

from bench.client import Endpoint, timed_chat
from bench.config import ModelTiming
from contracts import (
    ChatMessage,
    PlanCreated,
    ReplyChunk,
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


Outcome = tuple[float, ReplyEvent, int]
"""When a reply's end arrived, that end, and how many content chunks came before it."""


class ReplyWatcher:
    """Reads moe.replies from its end and resolves each awaited request's future with
    the time its ReplyDone (or ReplyError) arrived and its count of content chunks
    (reasoning chunks, progress and thinking, are not the answer)."""

    def __init__(self, bootstrap: str) -> None:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
            enable_auto_commit=False,
        )
        self._waiting: dict[str, asyncio.Future[Outcome]] = {}
        self._content: dict[str, int] = {}
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

    def expect(self, request_id: str) -> asyncio.Future[Outcome]:
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = future
        self._content[request_id] = 0
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
                    if isinstance(event, ReplyChunk) and event.channel == "content":
                        self._content[key] += 1
                    if isinstance(event, ReplyDone | ReplyError):
                        future = self._waiting.pop(event.request_id, None)
                        content = self._content.pop(event.request_id, 0)
                        if future is not None and not future.done():
                            future.set_result((arrived, event, content))


async def publish_plan(
    producer: AIOKafkaProducer,
    request_id: str,
    tasks: Sequence[ModelTiming],
    synthesis: ModelTiming,
    category: str = "general",
) -> None:
    """Publish a plan and its tasks in the planner's order (plan first, each awaited)."""
    specs = [
        TaskSpec(id=f"{request_id}:{i}", task=task_text(i, timing), category=category)
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
    the thinking call, which needs all of their answers, then the judge's, which needs
    the thinking's trace."""
    started = time.perf_counter()
    calls = [timed_chat(client, direct, task_text(i, t)) for i, t in enumerate(tasks, 1)]
    timings = await asyncio.gather(*calls)
    timings.append(await timed_chat(client, direct, question_text(synthesis)))
    timings.append(await timed_chat(client, direct, question_text(synthesis)))
    if not all(t.ok for t in timings):
        raise RuntimeError(f"direct model call failed: {[t.error for t in timings]}")
    return time.perf_counter() - started


async def _timed_plans(
    bootstrap: str,
    requests: int,
    timeout_s: float,
    baseline: Callable[[], Awaitable[float]],
    publish: Callable[[AIOKafkaProducer, str], Awaitable[None]],
    answered: Callable[[int], bool],
    prefix: str,
) -> tuple[list[float], list[float], int]:
    """For each request (after one warm-up): its baseline measured directly, then the
    same plan published and timed to its ReplyDone. A reply that is not done, or whose
    content chunk count `answered` refuses, counts as an error."""
    watcher = ReplyWatcher(bootstrap)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await asyncio.gather(watcher.start(), producer.start())
    totals: list[float] = []
    baselines: list[float] = []
    errors = 0
    try:
        for round_ in range(requests + 1):
            direct_s = await baseline()
            request_id = new_id(prefix)
            done = watcher.expect(request_id)
            started = time.perf_counter()
            await publish(producer, request_id)
            arrived, event, content = await asyncio.wait_for(done, timeout_s)
            if round_ == 0:  # warm-up: opens the experts' and the judge's connections
                continue
            if not isinstance(event, ReplyDone) or not answered(content):
                errors += 1
                continue
            totals.append(arrived - started)
            baselines.append(direct_s)
        return totals, baselines, errors
    finally:
        await asyncio.gather(watcher.stop(), producer.stop())


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
    whose answer is not the judge's stream (one content chunk per judge token) counts
    as an error: a judge that failed before its first token falls back to
    concatenation, which would flatter the figure."""

    async def publish(producer: AIOKafkaProducer, request_id: str) -> None:
        await publish_plan(producer, request_id, tasks, synthesis)

    return await _timed_plans(
        bootstrap,
        requests,
        timeout_s,
        lambda: critical_path(client, direct, tasks, synthesis),
        publish,
        lambda content: content == synthesis.tokens,
        "bench-plan-",
    )


ESCALATION_CATEGORY = "math"
"""The bench stack's tiered category (bench.processes): two tier-1 models, one tier 2."""


async def measure_escalation(
    bootstrap: str,
    client: httpx.AsyncClient,
    direct: Endpoint,
    task: ModelTiming,
    requests: int,
    timeout_s: float = 30.0,
) -> tuple[list[float], list[float], int]:
    """Tier-escalation totals, critical-path baselines (seconds) and the error count.
    Tier 2's answer passes through whole (one confident result, no judge): a reply
    that is not one content chunk counts as an error."""

    async def tier_one_then_two() -> float:
        started = time.perf_counter()
        for _ in range(2):  # tier 1 (its models at once: one call's time), then tier 2
            if not (await timed_chat(client, direct, task_text(1, task))).ok:
                raise RuntimeError("direct model call failed")
        return time.perf_counter() - started

    async def publish(producer: AIOKafkaProducer, request_id: str) -> None:
        await publish_plan(producer, request_id, [task], task, ESCALATION_CATEGORY)

    return await _timed_plans(
        bootstrap,
        requests,
        timeout_s,
        tier_one_then_two,
        publish,
        lambda content: content == 1,
        "bench-tiers-",
    )

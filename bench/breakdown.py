"""Where the single-expert path's time to first token goes, stage by stage, from the
events' own timestamps (recorded from the topics during the phase) joined with the
client's clock and the model's token stamps. All clocks are this machine's.

Stages of one request, in order:
  gateway in        client sends            -> RequestReceived.created_at
  to planner        RequestReceived         -> PlanCreated.created_at (hop + planning)
  to expert         PlanCreated             -> expert starts the task (hop + decoding)
  model call        expert starts the task  -> model emits token 0, less the model's
                                               scripted first-token delay (not ours)
  model to expert   model emits token 0     -> ReplyChunk 0 created in the expert
  to client         ReplyChunk 0 created    -> client receives token 0 (hop + gateway)"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Iterable, Sequence

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import BaseModel, ConfigDict

from bench.client import Timing
from bench.stats import Distribution
from contracts import EVENT_ADAPTER, Event, PlanCreated, ReplyChunk, RequestReceived, TaskResult
from contracts.topics import PARTITIONS, PLANS, REPLIES, REQUESTS, RESULTS

log = structlog.get_logger("bench")

STAGES = ("gateway in", "to planner", "to expert", "model call", "model to expert", "to client")


class Stage(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    latency: Distribution


class EventRecorder:
    """Records the events of the measured requests as they are published: a consumer
    positioned at the end of the four topics before the phase, polling lazily (it only
    keeps events; their own timestamps carry the timing)."""

    def __init__(self, bootstrap: str) -> None:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=100
        )
        self.events: dict[str, dict[str, Event]] = defaultdict(dict)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        topics = (REQUESTS, PLANS, RESULTS, REPLIES)
        partitions = [TopicPartition(t, p) for t in topics for p in range(PARTITIONS[t])]
        self._consumer.assign(partitions)
        await self._consumer.start()
        await self._consumer.seek_to_end(*partitions)
        for partition in partitions:  # resolve "end" before the phase publishes anything
            await self._consumer.position(partition)
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=200)
            for records in batches.values():
                for record in records:
                    if record.value is not None:
                        event = EVENT_ADAPTER.validate_json(record.value)
                        self.events[event.request_id].setdefault(_slot(event), event)

    def _all_done(self, request_ids: set[str]) -> bool:
        return all("ReplyDone" in self.events.get(i, {}) for i in request_ids)

    async def stop(self, request_ids: set[str], timeout_s: float = 10.0) -> None:
        """Once every request's ReplyDone is in (or after `timeout_s`), stop reading."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                while not self._all_done(request_ids):  # noqa: ASYNC110 - filled by _run
                    await asyncio.sleep(0.1)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()


def _slot(event: Event) -> str:
    if isinstance(event, ReplyChunk):
        return f"chunk{event.seq}"
    return type(event).__name__


def stages_of(timing: Timing, events: dict[str, Event], first_token_delay_s: float) -> list[float]:
    """Seconds spent in each of STAGES by one request; empty if anything is missing."""
    request, plan = events.get("RequestReceived"), events.get("PlanCreated")
    result, chunk = events.get("TaskResult"), events.get("chunk0")
    if (
        not isinstance(request, RequestReceived)
        or not isinstance(plan, PlanCreated)
        or not isinstance(result, TaskResult)
        or not isinstance(chunk, ReplyChunk)
        or timing.first_stamp is None
        or timing.first_token_wall is None
    ):
        return []
    model_started = timing.first_stamp - first_token_delay_s  # the model's own delay is not ours
    return [
        request.created_at.timestamp() - timing.sent_wall,
        plan.created_at.timestamp() - request.created_at.timestamp(),
        result.started_at - plan.created_at.timestamp(),
        model_started - result.started_at,
        chunk.emitted_at - timing.first_stamp,
        timing.first_token_wall - chunk.emitted_at,
    ]


def breakdown(
    timings: Iterable[Timing],
    events: dict[str, dict[str, Event]],
    first_token_delay_s: float,
) -> list[Stage]:
    columns: list[list[float]] = [[] for _ in STAGES]
    for timing in timings:
        if timing.request_id is None:
            continue
        values = stages_of(timing, events.get(timing.request_id, {}), first_token_delay_s)
        for column, value in zip(columns, values, strict=False):
            column.append(value)
    return [
        Stage(name=name, latency=Distribution.of_seconds(column))
        for name, column in zip(STAGES, columns, strict=True)
    ]


async def ttft_breakdown(
    recorder: EventRecorder, timings: Sequence[Timing], first_token_delay_s: float
) -> list[Stage]:
    ids = {t.request_id for t in timings if t.request_id}
    await recorder.stop(ids)
    stages = breakdown(timings, recorder.events, first_token_delay_s)
    log.info("ttft_breakdown", requests=len(ids), complete=stages[0].latency.n)
    return stages

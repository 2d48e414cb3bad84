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
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
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
    """Records the events of the measured requests: marks where the four topics end
    before the phase, and reads on from there after it (the broker keeps them).

    Not during the phase: a reader then shares the client's event loop with the streams
    it times, and wakes to decode each reply chunk as it is published, on the gateway's
    path only. That showed up as relay delay charged to the gateway."""

    TOPICS = (REQUESTS, PLANS, RESULTS, REPLIES)

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.events: dict[str, dict[str, Event]] = defaultdict(dict)
        self._partitions = [TopicPartition(t, p) for t in self.TOPICS for p in range(PARTITIONS[t])]
        self._marks: dict[TopicPartition, int] = {}

    def _consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)

    async def mark(self) -> None:
        """Where the topics end now: the phase's events come after."""
        consumer = self._consumer()
        await consumer.start()
        try:
            self._marks = await consumer.end_offsets(self._partitions)
        finally:
            await consumer.stop()

    async def read(self, request_ids: set[str], timeout_s: float = 10.0) -> None:
        """The events from the marks on, until every request's ReplyDone is in (or
        `timeout_s` has passed: a request that lost its events is left incomplete)."""
        consumer = self._consumer()
        consumer.assign(self._partitions)
        await consumer.start()
        try:
            for partition, offset in self._marks.items():
                consumer.seek(partition, offset)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout_s):
                    while not self._all_done(request_ids):
                        batches = await consumer.getmany(timeout_ms=200)
                        for records in batches.values():
                            self._keep(records)
        finally:
            await consumer.stop()

    def _keep(self, records: Iterable[ConsumerRecord[bytes, bytes]]) -> None:
        for record in records:
            if record.value is not None:
                event = EVENT_ADAPTER.validate_json(record.value)
                self.events[event.request_id].setdefault(_slot(event), event)

    def _all_done(self, request_ids: set[str]) -> bool:
        return all("ReplyDone" in self.events.get(i, {}) for i in request_ids)


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
    await recorder.read(ids)
    stages = breakdown(timings, recorder.events, first_token_delay_s)
    log.info("ttft_breakdown", requests=len(ids), complete=stages[0].latency.n)
    return stages

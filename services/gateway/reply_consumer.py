"""The gateway's reader of moe.replies.

Every streamed token of every request passes here, so it reads with aiokafka directly
and validates each record with one pydantic TypeAdapter. A FastStream subscriber's
per-message path (its context, middlewares and argument injection) cost about 130 µs of
CPU per event, this reader about 16 µs (5,000 reply chunks through the same broker); in
the bench stack, each streamed token reached the client 0.2 ms sooner. A record it
cannot read still goes to moe.dlq with the reason, as a subscriber's would."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Protocol

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from faststream.kafka import KafkaBroker
from pydantic import Field, TypeAdapter, ValidationError

from contracts.events import CanaryPong, ReplyChunk, ReplyDone, ReplyError
from contracts.lifecycle import bounded
from contracts.topics import REPLIES
from contracts.wire import FETCH_MAX_WAIT_MS, dead_letter_record
from services.gateway.health import Canaries
from services.gateway.replies import PendingReplies

log = structlog.get_logger()

# moe.replies carries the reply events of requests, and the canaries' pongs for /health.
GatewayInput = Annotated[
    ReplyChunk | ReplyDone | ReplyError | CanaryPong, Field(discriminator="kind")
]
_INPUT: TypeAdapter[GatewayInput] = TypeAdapter(GatewayInput)

RETRY_S = 0.5
"""The pause before reading again after reading failed."""


def route_reply(event: GatewayInput, pending: PendingReplies, canaries: Canaries) -> None:
    """To the request (or the canary) waiting for it, if this instance holds it."""
    if isinstance(event, CanaryPong):
        canaries.deliver(event)
    else:
        pending.deliver(event)


class ReplySource(Protocol):
    async def start(self) -> None:
        """Return once replies published from now on will be read."""

    async def stop(self) -> None: ...


ReplySourceFactory = Callable[[PendingReplies, Canaries], ReplySource]


class ReplyReader:
    def __init__(
        self, kafka_url: str, broker: KafkaBroker, pending: PendingReplies, canaries: Canaries
    ) -> None:
        self._kafka_url, self._broker = kafka_url, broker
        self._pending, self._canaries = pending, canaries
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._dead_letters: set[asyncio.Task[None]] = set()

    async def start(self, assigned_within_s: float = 30.0) -> None:
        # No consumer group: every gateway instance reads every partition, because the
        # request waiting for a reply may be held by any instance.
        consumer = AIOKafkaConsumer(
            REPLIES,
            bootstrap_servers=self._kafka_url,
            client_id="moe-gateway-replies",
            auto_offset_reset="latest",
            enable_auto_commit=False,
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        )
        self._consumer = consumer
        await consumer.start()
        # The start offsets resolved before serving, so that no reply published right
        # after the first request can fall before the consumer's starting position.
        async with asyncio.timeout(assigned_within_s):
            while not consumer.assignment():  # noqa: ASYNC110 - aiokafka has no assignment event
                await asyncio.sleep(0.01)
            for partition in consumer.assignment():
                await consumer.position(partition)
        self._task = asyncio.create_task(self._read(consumer), name="gateway-replies")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._consumer is not None:
            await bounded(self._consumer.stop, "gateway reply consumer stop")
            self._consumer = None
        await asyncio.gather(*self._dead_letters, return_exceptions=True)

    async def _read(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            try:
                batches = await consumer.getmany(timeout_ms=FETCH_MAX_WAIT_MS)
                for records in batches.values():
                    for record in records:
                        self._deliver(record)
            except Exception as exc:  # a reader that ended would fail every request
                # The consumer reconnects by itself after a Kafka error; read on after it.
                log.warning("replies_unreadable", error=f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(RETRY_S)

    def _deliver(self, record: ConsumerRecord[bytes, bytes]) -> None:
        value = record.value or b""
        try:
            event = _INPUT.validate_json(value)
        except ValidationError as exc:
            task = asyncio.create_task(self._dead_letter(record, value, exc))
            self._dead_letters.add(task)
            task.add_done_callback(self._dead_letters.discard)
            return
        route_reply(event, self._pending, self._canaries)

    async def _dead_letter(
        self, record: ConsumerRecord[bytes, bytes], value: bytes, exc: ValidationError
    ) -> None:
        try:
            await dead_letter_record(self._broker, "gateway", record, value, exc)
        except Exception as failure:
            log.error("dead_letter_failed", offset=record.offset, error=repr(failure))

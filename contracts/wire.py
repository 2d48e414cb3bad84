"""How events travel: client settings, headers, and the dead-letter rule every consumer
follows. Shared so that no service can disagree with another about the wire."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from typing import Any, Final

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.structs import RecordMetadata
from faststream import Context, ExceptionMiddleware
from faststream.kafka import KafkaBroker
from faststream.kafka.message import KafkaMessage
from pydantic import AliasChoices, Field

from contracts.current_message import CurrentMessageMiddleware
from contracts.events import DeadLetter, Event, new_id
from contracts.topics import DLQ, REPLIES
from contracts.tracing import (
    TRACEPARENT,
    outgoing_traceparent,
    tracing_configured,
    tracing_middleware,
)
from contracts.version import CONTRACT_VERSION

VERSION_HEADER: Final = "moe-contract-version"
DEFAULT_KAFKA_URL: Final = "127.0.0.1:9092"


def _fetch_max_wait_ms() -> int:
    value = os.environ.get("KAFKA_FETCH_MAX_WAIT_MS", "3000")
    if not value.isdigit():
        raise ValueError(f"KAFKA_FETCH_MAX_WAIT_MS must be a whole number of ms, not {value!r}")
    return int(value)


# Every subscriber passes fetch_max_wait_ms=FETCH_MAX_WAIT_MS. Kafka holds a fetch that
# finds no data until data arrives or the wait ends, and answers at once when it arrives:
# a long wait costs no latency, and an idle consumer asks every 3 s: at 500 ms, answering
# the idle stack's fetches was a third of the broker's CPU at rest. (A broker that
# does not wake waiting fetches would lose up to the whole wait per hop: there, set a
# few ms, at the price of polling.)
FETCH_MAX_WAIT_MS: Final = _fetch_max_wait_ms()

log = structlog.get_logger()

PUBLISH_TIMEOUT_S: Final = 5.0
"""The longest a publish waits for the broker, to take the event or to acknowledge it.
Past it the publish fails with NotDelivered naming the topic, instead of holding its
handler for the producer's own request timeout (40 s) or, while the broker is
unreachable, for as long as that lasts."""
SETTLE_WAIT_S: Final = 0.1
"""`Unconfirmed.settle`'s bound: a healthy broker acknowledges within milliseconds, and
a slower one is left to `confirm()` rather than adding to its wait."""

SLOW_PUBLISH_S: Final = 1.0
"""A publish that took longer than this is logged as a stall (topic, request, seconds)."""


def _stalled(topic: str, request_id: str, waited_s: float) -> NotDelivered:
    log.warning("publish_stalled", topic=topic, request_id=request_id, waited_s=waited_s)
    return NotDelivered(f"{topic}: not acknowledged by the broker within {waited_s:g} s")


def _note_if_slow(topic: str, request_id: str, started: float) -> None:
    waited = time.monotonic() - started
    if waited > SLOW_PUBLISH_S:
        log.warning("publish_slow", topic=topic, request_id=request_id, waited_s=round(waited, 2))


def kafka_url_setting(env_prefix: str) -> Any:
    """The settings field of a service's broker address: its own `<PREFIX>KAFKA_URL`,
    else the stack-wide `KAFKA_URL`, else the local broker."""
    return Field(
        default=DEFAULT_KAFKA_URL,
        validation_alias=AliasChoices(f"{env_prefix}KAFKA_URL", "KAFKA_URL"),
        description="Kafka bootstrap servers.",
    )


def event_headers() -> dict[str, str]:
    return {VERSION_HEADER: CONTRACT_VERSION}


async def publish_event(
    broker: KafkaBroker, event: Event, topic: str, timeout_s: float = PUBLISH_TIMEOUT_S
) -> None:
    """Publish keyed by request_id, so every event of a request stays in one partition,
    and wait for the broker's acknowledgement: at most `timeout_s`, then NotDelivered."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout_s):
            await broker.publish(
                event.model_dump(mode="json"),
                topic,
                key=event.request_id.encode(),
                headers=event_headers(),
            )
    except TimeoutError as exc:
        raise _stalled(topic, event.request_id, timeout_s) from exc
    _note_if_slow(topic, event.request_id, started)


async def send_event(
    broker: KafkaBroker, event: Event, topic: str
) -> asyncio.Future[RecordMetadata]:
    """Publish without waiting for the acknowledgement (await the returned future for it).
    The producer keeps the order of one partition's events, so a stream of chunks can be
    sent back to back and confirmed once, before whatever must come after them. Handing
    the event to the producer waits for the topic's metadata: bounded like a publish."""
    direct = _aiokafka_producer(broker) if topic == REPLIES else None
    try:
        async with asyncio.timeout(PUBLISH_TIMEOUT_S):
            if direct is not None:
                headers = [(k, v.encode()) for k, v in event_headers().items()]
                headers.append((TRACEPARENT, outgoing_traceparent().encode()))
                key = event.request_id.encode()
                value = event.model_dump_json().encode()
                sent: asyncio.Future[RecordMetadata] = await direct.send(
                    topic, value, key=key, headers=headers
                )
                return sent
            return await broker.publish(
                event.model_dump(mode="json"),
                topic,
                key=event.request_id.encode(),
                headers=event_headers(),
                no_confirm=True,
            )
    except TimeoutError as exc:
        raise _stalled(topic, event.request_id, PUBLISH_TIMEOUT_S) from exc


def _aiokafka_producer(broker: KafkaBroker) -> AIOKafkaProducer | None:
    """The aiokafka producer under `broker`, for reply events: every streamed token is
    one, and FastStream's publish path (its middlewares, command and encoding) cost about
    70 µs of CPU per event against 15 to 20 µs for the producer's own send. The same
    producer, so a stream's order and idempotence hold. None (publish through FastStream)
    when OpenTelemetry spans are wanted, or the broker is the in-memory test broker."""
    if tracing_configured():
        return None
    config = getattr(broker, "config", None)  # FastStream's own state, read with care
    state = getattr(getattr(config, "producer", None), "_producer", None)
    producer = getattr(state, "producer", None)
    return producer if isinstance(producer, AIOKafkaProducer) else None


class NotDelivered(Exception):
    """The broker did not take or acknowledge an event in time, or refused it."""


class Unconfirmed:
    """Events sent back to back and confirmed together.

    Awaiting each acknowledgement before sending the next event would put a broker round
    trip between every two streamed tokens. The producer keeps one partition's order, so
    a stream's events go out unconfirmed, and `confirm()` is awaited before whatever must
    not overtake them (a TaskResult or ReplyDone after the chunks)."""

    def __init__(self, broker: KafkaBroker) -> None:
        self._broker = broker
        self._pending: list[asyncio.Future[RecordMetadata]] = []

    async def send(self, event: Event, topic: str) -> None:
        sent = await send_event(self._broker, event, topic)
        if asyncio.isfuture(sent):  # the in-memory test broker delivers at once instead
            self._pending.append(sent)

    async def confirm(self) -> str | None:
        """None when every event reached the broker, else why some did not; waits at
        most PUBLISH_TIMEOUT_S for the acknowledgements."""
        pending, self._pending = self._pending, []
        try:
            async with asyncio.timeout(PUBLISH_TIMEOUT_S):
                outcomes = await asyncio.gather(*pending, return_exceptions=True)
        except TimeoutError:
            log.warning("publish_stalled", events=len(pending), waited_s=PUBLISH_TIMEOUT_S)
            return f"{len(pending)} event(s) not acknowledged within {PUBLISH_TIMEOUT_S:g} s"
        failed = [o for o in outcomes if isinstance(o, BaseException)]
        if not failed:
            return None
        return f"{len(failed)} event(s) not delivered: {failed[0]!r}"

    async def settle(self) -> None:
        """Return once every event sent so far is acknowledged or has failed, or after
        SETTLE_WAIT_S; their outcomes stay for `confirm()`. While it waits, the
        producer's sender runs: the events are on the wire before the caller goes on."""
        if self._pending:
            await asyncio.wait(self._pending, timeout=SETTLE_WAIT_S)

    async def confirmed(self) -> None:
        """Wait for every acknowledgement; raise NotDelivered if any failed."""
        failure = await self.confirm()
        if failure is not None:
            raise NotDelivered(failure)


def _request_id_of(payload: str, key: bytes | None) -> str:
    try:
        value = json.loads(payload).get("request_id")
    except (ValueError, AttributeError):
        value = None
    if isinstance(value, str) and value:
        return value
    return key.decode(errors="replace") if key else new_id("unknown-")


async def dead_letter(
    broker: KafkaBroker, service: str, message: KafkaMessage, exc: BaseException
) -> None:
    """Publish `message`, which `service` could not process, to moe.dlq with the reason."""
    record = message.raw_message
    if isinstance(record, tuple | list):  # a batch subscriber's: its first record
        record = record[0] if record else None
    body = message.body  # a batch's is a list of bodies, kept one per line
    raw = b"\n".join(body) if isinstance(body, list) else bytes(body)
    await dead_letter_record(broker, service, record, raw, exc)


async def dead_letter_record(
    broker: KafkaBroker, service: str, record: Any, value: bytes, exc: BaseException
) -> None:
    """Publish a record `service` read (an aiokafka ConsumerRecord, or None when unknown)
    but could not process to moe.dlq: its coordinates, its `value`, and the reason."""
    payload = value.decode(errors="replace")
    key = getattr(record, "key", None)
    letter = DeadLetter(
        request_id=_request_id_of(payload, key),
        original_topic=getattr(record, "topic", "") or "",
        original_partition=getattr(record, "partition", None),
        original_offset=getattr(record, "offset", None),
        original_key=key.decode(errors="replace") if key else None,
        original_value=payload,
        error=f"{type(exc).__name__}: {exc}"[:4000],
        consumer=service,
    )
    log.warning("dead_letter", service=service, topic=letter.original_topic, error=letter.error)
    await publish_event(broker, letter, DLQ)


def dead_letter_middleware(service: str) -> ExceptionMiddleware:
    """Any event a handler cannot process goes to moe.dlq with the reason; the consumer
    acknowledges it and keeps going, so one bad event never blocks a partition."""
    middleware = ExceptionMiddleware()

    @middleware.add_handler(Exception)
    async def to_dead_letter(
        exc: Exception,
        message: KafkaMessage = Context(),
        broker: KafkaBroker = Context(),
    ) -> None:
        await dead_letter(broker, service, message, exc)

    return middleware


def make_broker(kafka_url: str, service: str) -> KafkaBroker:
    """A broker whose consumers dead-letter what they cannot process, whose publishes
    carry W3C trace context (traceparent) in their Kafka headers, and whose producer
    neither loses nor duplicates an acknowledged event."""
    return KafkaBroker(
        kafka_url,
        client_id=f"moe-{service}",
        # Every acknowledged event is on the log before the ack (all in-sync replicas),
        # and a retried send is not written twice.
        acks="all",
        enable_idempotence=True,
        # Per-message logs at DEBUG: at INFO every streamed token would log twice.
        log_level=logging.DEBUG,
        middlewares=[
            CurrentMessageMiddleware,
            tracing_middleware(service),
            dead_letter_middleware(service),
        ],
    )

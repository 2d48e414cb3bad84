"""How events travel: client settings, headers, and the dead-letter rule every consumer
follows. Shared so that no service can disagree with another about the wire."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Final

import structlog
from aiokafka.structs import RecordMetadata
from faststream import Context, ExceptionMiddleware
from faststream.kafka import KafkaBroker
from faststream.kafka.message import KafkaMessage
from pydantic import AliasChoices, Field

from contracts.events import DeadLetter, Event, new_id
from contracts.topics import DLQ
from contracts.tracing import tracing_middleware
from contracts.version import CONTRACT_VERSION

VERSION_HEADER: Final = "moe-contract-version"
DEFAULT_KAFKA_URL: Final = "127.0.0.1:9092"

# Every subscriber passes fetch_max_wait_ms=FETCH_MAX_WAIT_MS. Tansu does not wake a
# waiting fetch when data arrives: with Kafka's default 500 ms wait every hop would cost
# ~250 ms. A 5 ms wait keeps a hop at a few milliseconds.
FETCH_MAX_WAIT_MS: Final = 5

log = structlog.get_logger()


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


async def publish_event(broker: KafkaBroker, event: Event, topic: str) -> None:
    """Publish keyed by request_id, so every event of a request stays in one partition,
    and wait for the broker's acknowledgement."""
    await broker.publish(
        event.model_dump(mode="json"),
        topic,
        key=event.request_id.encode(),
        headers=event_headers(),
    )


async def send_event(
    broker: KafkaBroker, event: Event, topic: str
) -> asyncio.Future[RecordMetadata]:
    """Publish without waiting for the acknowledgement (await the returned future for it).
    The producer keeps the order of one partition's events, so a stream of chunks can be
    sent back to back and confirmed once, before whatever must come after them."""
    return await broker.publish(
        event.model_dump(mode="json"),
        topic,
        key=event.request_id.encode(),
        headers=event_headers(),
        no_confirm=True,
    )


def _request_id_of(payload: str, key: bytes | None) -> str:
    try:
        value = json.loads(payload).get("request_id")
    except (ValueError, AttributeError):
        value = None
    if isinstance(value, str) and value:
        return value
    return key.decode(errors="replace") if key else new_id("unknown-")


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
        record = message.raw_message
        payload = bytes(message.body).decode(errors="replace")
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

    return middleware


def make_broker(kafka_url: str, service: str) -> KafkaBroker:
    """A broker whose consumers dead-letter what they cannot process and whose
    publishes carry W3C trace context (traceparent) in their Kafka headers."""
    return KafkaBroker(
        kafka_url,
        client_id=f"moe-{service}",
        # Per-message logs at DEBUG: at INFO every streamed token would log twice.
        log_level=logging.DEBUG,
        middlewares=[tracing_middleware(service), dead_letter_middleware(service)],
    )

"""Reading and writing topics directly, as an auditor or a load tester would."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from contracts import Event
from contracts.topics import REPLIES
from contracts.wire import event_headers


async def publish_events(kafka_url: str, events: Iterable[tuple[Event, str]]) -> None:
    """Publish (event, topic) pairs in order, keyed by request_id, with the headers."""
    producer = AIOKafkaProducer(bootstrap_servers=kafka_url)
    await producer.start()
    headers = [(k, v.encode()) for k, v in event_headers().items()]
    try:
        for event, topic in events:
            await producer.send_and_wait(
                topic,
                event.model_dump_json().encode(),
                key=event.request_id.encode(),
                headers=headers,
            )
    finally:
        await producer.stop()


async def read_topic(
    kafka_url: str, topic: str, key: str, count: int, timeout_s: float = 30.0
) -> list[tuple[dict[str, Any], dict[str, bytes]]]:
    """The first `count` events keyed `key` on `topic` (with their headers), read from
    the beginning."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_url,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=5,
        enable_auto_commit=False,
    )
    await consumer.start()
    found: list[tuple[dict[str, Any], dict[str, bytes]]] = []
    try:
        async with asyncio.timeout(timeout_s):
            while len(found) < count:
                batches = await consumer.getmany(timeout_ms=100)
                for records in batches.values():
                    found += [
                        (json.loads(r.value), dict(r.headers))
                        for r in records
                        if r.key == key.encode()
                    ]
    finally:
        await consumer.stop()
    return found[:count]


async def first_event(kafka_url: str, topic: str, key: str) -> dict[str, Any]:
    [(event, _)] = await read_topic(kafka_url, topic, key, 1)
    return event


async def read_reply(
    kafka_url: str, request_id: str, timeout_s: float = 60.0
) -> list[dict[str, Any]]:
    """A request's reply events on moe.replies, up to the ReplyDone or ReplyError that
    ends it (a plan's length in chunks is not known in advance: progress lines and the
    thinking step come before the answer)."""
    consumer = AIOKafkaConsumer(
        REPLIES,
        bootstrap_servers=kafka_url,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=5,
        enable_auto_commit=False,
    )
    await consumer.start()
    found: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(timeout_s):
            while not found or found[-1]["kind"] == "reply.chunk":
                batches = await consumer.getmany(timeout_ms=100)
                for records in batches.values():
                    found += [json.loads(r.value) for r in records if r.key == request_id.encode()]
    finally:
        await consumer.stop()
    return found


def content_of(replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The answer's chunks, without reasoning (progress, thinking)."""
    return [r for r in replies if r["kind"] == "reply.chunk" and r.get("channel") != "reasoning"]

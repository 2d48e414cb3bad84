"""A producer and a consumer for timing round trips on the broker directly."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from contracts.wire import FETCH_MAX_WAIT_MS


@asynccontextmanager
async def probe(
    bootstrap: str, listen: TopicPartition
) -> AsyncIterator[tuple[AIOKafkaProducer, AIOKafkaConsumer]]:
    """The consumer starts at the end of `listen`, so it receives only what comes after;
    it fetches as the services do."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, fetch_max_wait_ms=FETCH_MAX_WAIT_MS, enable_auto_commit=False
    )
    consumer.assign([listen])
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await asyncio.gather(consumer.start(), producer.start())
    try:
        await consumer.seek_to_end(listen)
        await consumer.position(listen)
        yield producer, consumer
    finally:
        await asyncio.gather(consumer.stop(), producer.stop())

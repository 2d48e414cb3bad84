"""The broker's physical floor: one message produced, then consumed, on the same Kafka
broker with the services' fetch setting; pipeline overhead reads as hops x this."""

from __future__ import annotations

import asyncio
import time

from aiokafka import TopicPartition

from bench.probe import probe
from deploy.local import create_topics

FLOOR_TOPIC = "bench.floor"


async def round_trips(bootstrap: str, messages: int, timeout_s: float = 10.0) -> list[float]:
    """Seconds from send to receipt, one message in flight at a time."""
    await create_topics(bootstrap, {FLOOR_TOPIC: 1})
    partition = TopicPartition(FLOOR_TOPIC, 0)
    samples: list[float] = []
    async with probe(bootstrap, partition) as (producer, consumer):
        for index in range(messages + 5):  # five warm-up messages, not counted
            started = time.perf_counter()
            await producer.send_and_wait(FLOOR_TOPIC, str(index).encode(), partition=0)
            record = await asyncio.wait_for(consumer.getone(partition), timeout_s)
            if record.value != str(index).encode():
                raise RuntimeError(f"unexpected record {record.value!r} on {FLOOR_TOPIC}")
            if index >= 5:
                samples.append(time.perf_counter() - started)
    return samples

"""The gateway's reader of moe.replies, against a stand-in consumer: it reads on after
the consumer fails, and routes each record to the request or canary waiting for it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaConnectionError

from contracts import ReplyChunk
from contracts.topics import REPLIES
from contracts.wire import make_broker
from services.gateway.health import Canaries
from services.gateway.replies import PendingReplies
from services.gateway.reply_consumer import ReplyReader


def record(value: bytes, offset: int = 0) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(REPLIES, 0, offset, 0, 0, b"r1", value, None, len(b"r1"), len(value), [])


@dataclass
class FlakyConsumer:
    """Fails its first fetch, then hands out its records, then nothing."""

    records: list[ConsumerRecord[bytes, bytes]]
    fetches: int = 0
    failures: list[BaseException] = field(default_factory=lambda: [KafkaConnectionError()])

    async def getmany(self, timeout_ms: int) -> dict[TopicPartition, list[Any]]:
        self.fetches += 1
        if self.failures:
            raise self.failures.pop()
        if self.records:
            records, self.records = self.records, []
            return {TopicPartition(REPLIES, 0): records}
        await asyncio.sleep(timeout_ms / 1000)
        return {}


async def test_the_reader_reads_on_after_a_failed_fetch(monkeypatch: Any) -> None:
    monkeypatch.setattr("services.gateway.reply_consumer.RETRY_S", 0.01)
    pending = PendingReplies(4)
    stream = pending.open("r1", timeout_s=5)
    reader = ReplyReader("unused:9092", make_broker("unused:9092", "gateway"), pending, Canaries())
    chunk = ReplyChunk(request_id="r1", seq=0, delta="Hi")
    consumer = FlakyConsumer([record(chunk.model_dump_json().encode())])
    reading = asyncio.create_task(reader._read(consumer))  # type: ignore[arg-type]
    try:
        async with asyncio.timeout(5):
            assert await stream.next() == chunk
    finally:
        reading.cancel()
    assert consumer.fetches >= 2

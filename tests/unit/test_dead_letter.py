"""The dead-letter rule of every consumer (contracts.wire), for a batch subscriber too."""

from __future__ import annotations

from faststream.kafka import KafkaResponse, TestKafkaBroker

from contracts.events import DeadLetter
from contracts.topics import DLQ
from contracts.wire import make_broker
from tests.unit.conftest import capture

TOPIC = "moe.test-batches"


async def test_a_batch_its_handler_cannot_process_is_dead_lettered_whole() -> None:
    broker = make_broker("unused:9092", "tester")

    @broker.subscriber(TOPIC, batch=True)
    async def refuses() -> None:
        raise ValueError("cannot process this batch")

    seen = capture(broker, [DLQ])
    async with TestKafkaBroker(broker) as test_broker:
        batch = [KafkaResponse(body, key=b"req-7") for body in (b'{"a": 1}', b'{"b": 2}')]
        await test_broker.publish_batch(*batch, topic=TOPIC)
        [letter] = await seen.wait_for(DLQ)
    assert isinstance(letter, DeadLetter)
    assert letter.original_topic == TOPIC and letter.original_key == "req-7"
    assert letter.original_value == '{"a": 1}\n{"b": 2}'  # every body, one per line
    assert "cannot process this batch" in letter.error and letter.consumer == "tester"

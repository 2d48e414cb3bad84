"""current_message(): the message a handler is processing, from the services' broker."""

from __future__ import annotations

import pytest
from faststream.kafka import TestKafkaBroker

from contracts.current_message import current_message
from contracts.wire import make_broker


async def test_a_handler_reads_the_message_it_is_processing() -> None:
    broker = make_broker("unused:9092", "test")
    seen: list[tuple[bytes | None, bytes]] = []

    @broker.subscriber("moe.test")
    async def on_event() -> None:
        message = current_message()
        record = message.raw_message
        assert not isinstance(record, tuple)  # one record, not a batch
        seen.append((record.key, bytes(message.body)))

    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish({"n": 1}, "moe.test", key=b"first")
        await test_broker.publish({"n": 2}, "moe.test", key=b"second")
    assert seen == [(b"first", b'{"n":1}'), (b"second", b'{"n":2}')]


def test_outside_a_handler_there_is_no_current_message() -> None:
    with pytest.raises(RuntimeError, match="outside a message handler"):
        current_message()

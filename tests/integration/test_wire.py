"""Reply events sent through a broker's own aiokafka producer, on the real broker: the
same key, headers and body as a FastStream publish, in order, confirmed together."""

from __future__ import annotations

import pytest

from contracts import ReplyChunk, ReplyDone, new_id
from contracts.topics import REPLIES
from contracts.tracing import TRACEPARENT, parse_traceparent
from contracts.version import CONTRACT_VERSION
from contracts.wire import VERSION_HEADER, Unconfirmed, _aiokafka_producer, make_broker
from tests.support.topics import read_topic


async def test_reply_events_go_out_through_the_producer_itself(
    kafka_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker = make_broker(kafka_url, "wire-test")
    await broker.start()
    try:
        assert _aiokafka_producer(broker) is not None
        with monkeypatch.context() as traced:  # spans wanted: through FastStream, for them
            traced.setenv("OTEL_TRACES_SAMPLER", "always_on")
            assert _aiokafka_producer(broker) is None
        request_id = new_id()
        sent = Unconfirmed(broker)
        for seq, delta in enumerate(["Hello", " there"]):
            await sent.send(ReplyChunk(request_id=request_id, seq=seq, delta=delta), REPLIES)
        await sent.send(ReplyDone(request_id=request_id, seq=2), REPLIES)
        assert await sent.confirm() is None
    finally:
        await broker.stop()
    events = await read_topic(kafka_url, REPLIES, request_id, 3)
    assert [(e["kind"], e["seq"]) for e, _ in events] == [
        ("reply.chunk", 0),
        ("reply.chunk", 1),
        ("reply.done", 2),
    ]
    assert [e.get("delta") for e, _ in events] == ["Hello", " there", None]
    for _, headers in events:
        assert headers[VERSION_HEADER] == CONTRACT_VERSION.encode()
        assert parse_traceparent(headers[TRACEPARENT]) is not None

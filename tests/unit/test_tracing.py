import pytest
from faststream.kafka import TestKafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware

from contracts import ChatMessage, RequestReceived
from contracts.topics import PLANS, REQUESTS
from contracts.tracing import (
    TRACEPARENT,
    TraceContextMiddleware,
    parse_traceparent,
    tracing_middleware,
)
from contracts.wire import _aiokafka_producer, event_headers, make_broker
from services.planner.app import create_app
from services.planner.settings import PlannerSettings
from tests.unit.conftest import capture

INCOMING = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def request() -> dict[str, object]:
    question = [ChatMessage(role="user", content="What is Kafka?")]
    event = RequestReceived(request_id="r1", model="moe-orchestrator", messages=question)
    return event.model_dump(mode="json")


@pytest.mark.parametrize(
    "value",
    [None, "", "garbage", "00-" + "0" * 32 + "-00f067aa0ba902b7-01", INCOMING.upper()],
)
def test_invalid_traceparents_are_not_continued(value: str | None) -> None:
    assert parse_traceparent(value) is None


def test_valid_traceparent_gives_trace_id_and_flags() -> None:
    assert parse_traceparent(INCOMING.encode()) == ("4bf92f3577b34da6a3ce929d0e0e4736", "01")


async def test_handled_event_passes_its_trace_on_with_a_new_parent_id() -> None:
    broker = make_broker("unused:9092", "planner")
    create_app(PlannerSettings(tools_url=""), broker)
    seen = capture(broker, [PLANS])
    async with TestKafkaBroker(broker) as test_broker:
        headers = event_headers() | {TRACEPARENT: INCOMING}
        await test_broker.publish(request(), REQUESTS, headers=headers)
        await seen.wait_for(PLANS)
    outgoing = seen.headers[PLANS][0][TRACEPARENT]
    assert parse_traceparent(outgoing) == parse_traceparent(INCOMING)
    assert outgoing != INCOMING  # the planner is the parent now, not the gateway


async def test_event_published_outside_a_handler_starts_a_trace() -> None:
    broker = make_broker("unused:9092", "gateway")
    seen = capture(broker, [REQUESTS])
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(request(), REQUESTS)
        await test_broker.publish(request(), REQUESTS)
        await seen.wait_for(REQUESTS, 2)
    first, second = (parse_traceparent(h[TRACEPARENT]) for h in seen.headers[REQUESTS])
    assert first is not None and second is not None and first != second


def test_configured_opentelemetry_records_spans(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_TRACES_SAMPLER", raising=False)
    assert tracing_middleware("planner") is TraceContextMiddleware
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_on")
    assert isinstance(tracing_middleware("planner"), KafkaTelemetryMiddleware)


async def test_reply_events_keep_faststreams_publish_on_the_in_memory_broker() -> None:
    broker = make_broker("unused:9092", "experts")
    async with TestKafkaBroker(broker):
        assert _aiokafka_producer(broker) is None

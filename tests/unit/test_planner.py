from faststream.kafka import TestKafkaBroker

from contracts import ChatMessage, PlanCreated, RequestReceived, TaskAssigned
from contracts.topics import DLQ, PLANS, REQUESTS, task_topic
from contracts.wire import VERSION_HEADER, make_broker
from contracts.version import CONTRACT_VERSION
from services.planner.app import create_app
from services.planner.settings import PlannerSettings
from tests.unit.conftest import capture


def request(**overrides: object) -> RequestReceived:
    fields: dict[str, object] = {
        "request_id": "req-1",
        "tenant": "acme",
        "model": "moe-orchestrator",
        "messages": [
            ChatMessage(role="user", content="earlier question"),
            ChatMessage(role="assistant", content="earlier answer"),
            ChatMessage(role="user", content="What is Kafka?"),
        ],
    }
    fields.update(overrides)
    return RequestReceived.model_validate(fields)


async def test_request_becomes_one_streamed_general_task() -> None:
    broker = make_broker("unused:9092", "planner")
    create_app(PlannerSettings(), broker)
    seen = capture(broker, [PLANS, task_topic("expert")])
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(request().model_dump(mode="json"), REQUESTS)
        [plan] = await seen.wait_for(PLANS)
        [task] = await seen.wait_for(task_topic("expert"))
    assert isinstance(plan, PlanCreated) and isinstance(task, TaskAssigned)
    assert plan.request_id == task.request_id == "req-1"
    assert plan.tenant == task.tenant == "acme"
    assert [t.id for t in plan.tasks] == [task.task.id]
    assert plan.streaming_task_id == task.task.id and task.stream_reply
    assert task.task.category == "general" and task.task.task == "What is Kafka?"
    assert plan.question == "What is Kafka?"
    assert len(task.messages) == 3
    assert seen.headers[PLANS][0][VERSION_HEADER] == CONTRACT_VERSION


async def test_malformed_request_is_dead_lettered_and_consumer_continues() -> None:
    broker = make_broker("unused:9092", "planner")
    create_app(PlannerSettings(), broker)
    seen = capture(broker, [PLANS, DLQ])
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish({"kind": "request.received", "request_id": "bad"}, REQUESTS)
        await test_broker.publish(b"{not json", REQUESTS, key=b"raw-key")
        await test_broker.publish(request(request_id="good").model_dump(mode="json"), REQUESTS)
        letters = await seen.wait_for(DLQ, 2)
        [plan] = await seen.wait_for(PLANS)
    assert plan.request_id == "good"
    first, second = letters
    assert first.request_id == "bad" and "messages" in first.error
    assert first.original_topic == REQUESTS and first.consumer == "planner"
    assert second.original_value == "{not json" and second.request_id == "raw-key"

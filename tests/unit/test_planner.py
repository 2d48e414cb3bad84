from collections.abc import AsyncIterator

import httpx
import pytest
from faststream.kafka import TestKafkaBroker

from contracts import ChatMessage, PlanCreated, RequestReceived, TaskAssigned
from contracts.topics import DLQ, PLANS, REQUESTS, task_topic
from contracts.version import CONTRACT_VERSION
from contracts.wire import VERSION_HEADER, make_broker
from services.planner.app import create_app
from services.planner.precision import arithmetic_expression
from services.planner.settings import PlannerSettings
from services.planner.tool_catalog import ToolCatalog
from services.tools.app import create_app as create_tools_app
from services.tools.settings import ToolsSettings
from tests.support.servers import serve
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
        asked = request(mode="concise", options={"max_tokens": 50})
        await test_broker.publish(asked.model_dump(mode="json"), REQUESTS)
        [plan] = await seen.wait_for(PLANS)
        [task] = await seen.wait_for(task_topic("expert"))
    assert isinstance(plan, PlanCreated) and isinstance(task, TaskAssigned)
    # The judge, if the merger calls one, answers in the client's mode and limits too.
    assert plan.mode == task.mode == "concise"
    assert plan.options.max_tokens == task.options.max_tokens == 50
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


@pytest.mark.parametrize(
    ("question", "expression"),
    [
        ("What is 17 * 23?", "17 * 23"),
        ("calculate (2 + 3) ^ 2", "(2 + 3) ^ 2"),
        ("2**64 - 1", "2**64 - 1"),
        ("sqrt(2) * 3 =", "sqrt(2) * 3"),
        ("What is Kafka?", None),
        ("What is 42?", None),
        ("Explain why 2 + 2 = 4", None),
        ("1999", None),
    ],
)
def test_only_plain_arithmetic_is_routed_to_calculate(
    question: str, expression: str | None
) -> None:
    assert arithmetic_expression(question) == expression


@pytest.fixture
async def tools_catalog() -> AsyncIterator[ToolCatalog]:
    """A catalog learned from the real tools service over HTTP, as the planner does."""
    tools = create_tools_app(ToolsSettings(kafka_enabled=False, pool_size=1))
    async with serve(tools) as url, httpx.AsyncClient() as client:
        catalog = ToolCatalog(url)
        await catalog.refresh(client)
        yield catalog


async def test_catalog_is_learned_from_the_tools_service(tools_catalog: ToolCatalog) -> None:
    assert {"calculate", "unit_convert", "hash_text"} <= set(tools_catalog.names())
    calculate = tools_catalog.get("calculate")
    assert calculate is not None and "expression" in calculate.parameters["properties"]


async def test_arithmetic_becomes_an_unstreamed_calculate_task(tools_catalog: ToolCatalog) -> None:
    broker = make_broker("unused:9092", "planner")
    create_app(PlannerSettings(), broker, tools_catalog)
    seen = capture(broker, [PLANS, task_topic("tool"), task_topic("expert")])
    question = [ChatMessage(role="user", content="What is 17 * 23?")]
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(request(messages=question).model_dump(mode="json"), REQUESTS)
        [plan] = await seen.wait_for(PLANS)
        [task] = await seen.wait_for(task_topic("tool"))
    assert seen.events[task_topic("expert")] == []
    assert task.task.tool == "calculate" and task.task.args == {"expression": "17 * 23"}
    assert not task.stream_reply and plan.streaming_task_id is None


async def test_without_the_tools_service_arithmetic_goes_to_an_expert() -> None:
    broker = make_broker("unused:9092", "planner")
    create_app(PlannerSettings(tools_url=""), broker)
    seen = capture(broker, [task_topic("expert")])
    question = [ChatMessage(role="user", content="What is 17 * 23?")]
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(request(messages=question).model_dump(mode="json"), REQUESTS)
        [task] = await seen.wait_for(task_topic("expert"))
    assert task.task.worker == "expert" and task.stream_reply


async def test_mixed_question_becomes_a_tool_task_and_an_expert_task(
    tools_catalog: ToolCatalog,
) -> None:
    broker = make_broker("unused:9092", "planner")
    create_app(PlannerSettings(), broker, tools_catalog)
    seen = capture(broker, [PLANS, task_topic("tool"), task_topic("expert")])
    asked = "Convert 98 km/h to m/s and explain why m/s is the SI unit"
    async with TestKafkaBroker(broker) as test_broker:
        question = [ChatMessage(role="user", content=asked)]
        await test_broker.publish(request(messages=question).model_dump(mode="json"), REQUESTS)
        [plan] = await seen.wait_for(PLANS)
        [tool] = await seen.wait_for(task_topic("tool"))
        [expert] = await seen.wait_for(task_topic("expert"))
    assert isinstance(plan, PlanCreated) and plan.planned_by == "precision"
    assert isinstance(tool, TaskAssigned) and isinstance(expert, TaskAssigned)
    assert tool.task.args == {"value": 98, "from_unit": "km/h", "to_unit": "m/s"}
    assert expert.task.task == "explain why m/s is the SI unit"
    # Two results to merge: neither streams on its own.
    assert plan.streaming_task_id is None and not expert.stream_reply
    assert [t.id for t in plan.tasks] == [tool.task.id, expert.task.id]


async def test_unplanned_question_is_on_record_as_the_fallback() -> None:
    broker = make_broker("unused:9092", "planner")
    create_app(PlannerSettings(tools_url=""), broker)
    seen = capture(broker, [PLANS])
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(request().model_dump(mode="json"), REQUESTS)
        [plan] = await seen.wait_for(PLANS)
    assert isinstance(plan, PlanCreated) and plan.planned_by == "fallback" and plan.plan_note


async def test_catalog_checks_arguments_against_the_tools_schema(
    tools_catalog: ToolCatalog,
) -> None:
    assert tools_catalog.check("hash_text", {"text": "a", "algorithm": "md5"}) is None
    bad = tools_catalog.check("hash_text", {"text": "a", "algorithm": "crc32"})
    assert bad is not None and "crc32" in bad
    assert tools_catalog.check("prime_factorize", {"n": 1}) is not None
    assert tools_catalog.check("no_such_tool", {}) is not None


async def test_open_webui_task_takes_the_fast_path_uncached() -> None:
    broker = make_broker("unused:9092", "planner")
    create_app(PlannerSettings(tools_url=""), broker)
    seen = capture(broker, [PLANS, task_topic("expert")])
    title = "### Task:\nGenerate a concise, 3-5 word title summarizing the chat history.\n"
    async with TestKafkaBroker(broker) as test_broker:
        asked = request(messages=[ChatMessage(role="user", content=title)])
        await test_broker.publish(asked.model_dump(mode="json"), REQUESTS)
        [plan] = await seen.wait_for(PLANS)
        [task] = await seen.wait_for(task_topic("expert"))
    assert isinstance(plan, PlanCreated) and isinstance(task, TaskAssigned)
    assert plan.planned_by == "fast_path" and plan.cache_key is None
    assert task.stream_reply and task.task.task == title

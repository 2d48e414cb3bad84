"""The Kafka worker on FastStream's in-memory broker: TaskAssigned in, TaskResult out;
an undecodable event goes to moe.dlq; research is subscribed only when configured."""

from __future__ import annotations

from typing import Any

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker

from contracts.events import DeadLetter, TaskResult
from contracts.topics import DLQ, RESULTS, TOOL_SWITCHES, task_topic
from services.tools.handlers import build_broker
from services.tools.runner import ToolRunner, result_hash
from services.tools.settings import ToolsSettings
from tests.unit.tools.helpers import Inbox, assigned

pytestmark = pytest.mark.timeout(60)


async def run_one(runner: ToolRunner, settings: ToolsSettings, event: Any) -> tuple[Inbox, Any]:
    broker = build_broker(settings, runner, None)
    inbox = Inbox(broker, [RESULTS, DLQ])
    async with TestKafkaBroker(broker) as test_broker:
        body = event.model_dump(mode="json") if hasattr(event, "model_dump") else event
        await test_broker.publish(body, task_topic("tool"), key=b"req-1")
        topic = DLQ if isinstance(event, dict) else RESULTS
        return inbox, await inbox.first(topic)


async def test_tool_task_yields_the_exact_value(
    runner: ToolRunner, settings: ToolsSettings
) -> None:
    inbox, result = await run_one(runner, settings, assigned("calculate", {"expression": "17*23"}))
    assert isinstance(result, TaskResult)
    assert (result.request_id, result.tenant, result.task_id) == ("req-1", "acme", "t1")
    assert (result.category, result.confidence, result.error) == ("tools", "high", None)
    assert "result: 391" in result.output
    assert result.model == "tool:calculate"
    assert inbox.keys[RESULTS] == [b"req-1"]
    # What the merger's precision guard checks the final answer against.
    assert result.exact_values == ["391"]
    assert result.result_hash == result_hash({"expression": "17*23", "result": 391})


async def test_math_task_without_tool_uses_the_math_node(
    runner: ToolRunner, settings: ToolsSettings
) -> None:
    event = assigned(None, None, category="math", task="Differentiate x^2 sin(x)")
    _, result = await run_one(runner, settings, event)
    assert result.error is None
    assert "result: x**2*cos(x) + 2*x*sin(x)" in result.output


async def test_failed_tool_answers_with_an_error(
    runner: ToolRunner, settings: ToolsSettings
) -> None:
    _, result = await run_one(runner, settings, assigned("calculate", {"expression": "1/0"}))
    assert (result.output, result.confidence) == ("", None)
    assert result.error == "calculate: expression: division by zero"


async def test_unknown_tool_and_toolless_task(runner: ToolRunner, settings: ToolsSettings) -> None:
    _, result = await run_one(runner, settings, assigned("teleport", {}))
    assert result.error == "teleport: tool: no tool named 'teleport'"
    _, result = await run_one(runner, settings, assigned(None, None, category="general"))
    assert result.error is not None and "names no tool" in result.error


async def test_expired_deadline(runner: ToolRunner, settings: ToolsSettings) -> None:
    event = assigned("calculate", {"expression": "1"}).model_copy(update={"deadline_at": 1.0})
    _, result = await run_one(runner, settings, event)
    assert result.error is not None and "deadline" in result.error


async def test_bad_event_goes_to_the_dead_letter_topic(
    runner: ToolRunner, settings: ToolsSettings
) -> None:
    inbox, letter = await run_one(runner, settings, {"request_id": "req-1", "kind": "nonsense"})
    assert isinstance(letter, DeadLetter)
    assert (letter.consumer, letter.original_topic) == ("tools", task_topic("tool"))
    assert letter.request_id == "req-1"
    assert not inbox.events[RESULTS]


def test_research_subscriber_only_when_configured(
    runner: ToolRunner, settings: ToolsSettings
) -> None:
    from services.tools.research import Research

    def topics(broker: KafkaBroker) -> set[str]:
        return {topic.name for sub in broker.subscribers for topic in sub.topics}

    assert topics(build_broker(settings, runner, None)) == {task_topic("tool"), TOOL_SWITCHES}
    on = settings.model_copy(update={"searxng_url": "http://127.0.0.1:9"})
    assert topics(build_broker(on, runner, Research(on))) == {
        task_topic("tool"),
        task_topic("research"),
        TOOL_SWITCHES,
    }


async def test_math_task_with_math_node_arguments(
    runner: ToolRunner, settings: ToolsSettings
) -> None:
    args = {"operation": "integrate", "expression": "3x^2", "lower": "0", "upper": "2"}
    _, result = await run_one(runner, settings, assigned(None, args, category="math"))
    assert "result: 8" in result.output

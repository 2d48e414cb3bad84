"""The precision guard on the real broker: a plan with a tool task and an expert task is
synthesised by a scripted judge that misquotes the tool's value; the merger appends the
tool's block to the stream and records the correction on moe.answers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bench.scripted_llm import ScriptedModel
from contracts import ChatMessage, Event, PlanCreated, TaskAssigned, TaskSpec, new_id
from contracts.topics import ANSWERS, PLANS, task_topic
from services.merger.precision_guard import NOTE
from tests.support.topics import content_of, publish_events, read_reply, read_topic

pytestmark = pytest.mark.timeout(120)


def scripted_text(text: str, *tokens: str) -> str:
    """`text` carrying the scripted model's tokens for the call whose prompt ends in it."""
    return f"{text} SCRIPT{json.dumps({'tokens': list(tokens)})}"


async def _judged(
    kafka_url: str, judge_tokens: list[str]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    request_id = new_id("guard-")
    question = scripted_text("What VAT is due on 2340 at 17.5%?", *judge_tokens)
    tasks = [
        TaskSpec(id="e", task=scripted_text("what is VAT?", "A", " consumption", " tax")),
        TaskSpec(
            id="t",
            task="2340 * 17.5%",
            worker="tool",
            tool="calculate",
            args={"expression": "2340 * 17.5%"},
        ),
    ]
    plan = PlanCreated(request_id=request_id, tasks=tasks, question=question)
    messages = [ChatMessage(role="user", content=question)]
    events: list[tuple[Event, str]] = [(plan, PLANS)] + [
        (TaskAssigned(request_id=request_id, task=t, messages=messages), task_topic(t.worker))
        for t in tasks
    ]
    await publish_events(kafka_url, events)
    [(answer, _)] = await read_topic(kafka_url, ANSWERS, request_id, 1, timeout_s=30)
    replies = await read_reply(kafka_url, request_id, timeout_s=30)
    # Progress lines and the thinking step (reasoning) come first, then the answer.
    assert [e["seq"] for e in replies] == list(range(len(replies)))
    assert replies[-1]["kind"] == "reply.done"
    return content_of(replies), answer


async def test_a_misquoted_tool_value_is_reinstated(
    kafka_url: str, workers: None, scripted: ScriptedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scripted, "prompt_overrides", True)
    content, answer = await _judged(kafka_url, ["The", " VAT", " is", " 409", " euros."])
    assert [e["delta"] for e in content[:5]] == ["The", " VAT", " is", " 409", " euros."]
    [appended] = [e["delta"] for e in content[5:]]
    assert appended.startswith(f"\n\n{NOTE}\n\ncalculate\n")
    assert "result: 409.5" in appended
    assert answer["answer"] == "The VAT is 409 euros." + appended
    assert answer["precision_corrections"] == [
        {"task_id": "t", "tool": "calculate", "missing": ["409.5"], "action": "appended"}
    ]
    # The judge's answer (after its thinking step) saw the exact value it then misquoted.
    *_, judge_call = [c for c in scripted.calls if c["model"] == "scripted-judge"]
    assert "result: 409.5" in judge_call["messages"][-1]["content"]


async def test_a_faithful_judge_answer_is_left_alone(
    kafka_url: str, workers: None, scripted: ScriptedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scripted, "prompt_overrides", True)
    content, answer = await _judged(kafka_url, ["The", " VAT", " is", " 409.50", " euros."])
    assert [e["delta"] for e in content] == ["The", " VAT", " is", " 409.50", " euros."]
    assert answer["answer"] == "The VAT is 409.50 euros."
    assert answer["precision_corrections"] == []

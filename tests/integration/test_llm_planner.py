"""The LLM planner on a real broker, with the scripted model server as the planner model
(its JSON given per test): multi-task plans fan out to their workers and are merged;
every kind of bad output falls back or is dropped as specified, on record in moe.plans."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest

from bench.scripted_llm import Script, ScriptedModel
from contracts import new_id
from contracts.topics import PLANS, RESULTS
from tests.support.gateway import gateway_client
from tests.support.planner_stack import planner_stack
from tests.support.topics import first_event, read_topic

PLANNER_MODEL = "scripted-planner"


@pytest.fixture(scope="module")
async def planned_stack(
    tmp_path_factory: pytest.TempPathFactory, scripted_server: tuple[ScriptedModel, str]
) -> AsyncIterator[tuple[str, str]]:
    """A stack of its own, whose planner has the LLM planner on (and so the router,
    which can save a planner call); the shared session stack plans without a model."""
    _, model_url = scripted_server
    async with planner_stack(
        tmp_path_factory.mktemp("llm-planner"), model_url, llm_planner=True, llm_timeout_s=1.0
    ) as stack:
        yield stack.kafka_url, stack.gateway_url


def script_plan(scripted: ScriptedModel, *tasks: dict[str, Any], **timing: Any) -> None:
    plan = json.dumps({"tasks": list(tasks)})
    scripted.model_scripts[PLANNER_MODEL] = Script(tokens=[plan], **timing)


async def ask(gateway_url: str, question: str) -> Any:
    client: openai.AsyncOpenAI = gateway_client(gateway_url)
    return await client.chat.completions.create(
        model="moe-orchestrator", messages=[{"role": "user", "content": question}]
    )


async def plan_of(kafka_url: str, completion: Any) -> dict[str, Any]:
    return await first_event(kafka_url, PLANS, completion.id.removeprefix("chatcmpl-"))


def calls_of(scripted: ScriptedModel, model: str) -> list[dict[str, Any]]:
    return [c for c in scripted.calls if c["model"] == model]


async def test_three_task_plan_reaches_three_workers_concurrently_and_is_merged(
    planned_stack: tuple[str, str], scripted: ScriptedModel
) -> None:
    kafka_url, gateway_url = planned_stack
    scripted.reset(Script(tokens=["Expert", " view."], first_token_delay_s=0.5))
    script_plan(
        scripted,
        {"id": "t1", "task": "Explain what Apache Kafka is used for", "category": "general"},
        {"id": "t2", "task": "Compare Kafka with RabbitMQ step by step", "category": "reasoning"},
        {
            "id": "t3",
            "task": "Compute 6 times 7",
            "category": "math",
            "tool": "calculate",
            "args": {"expression": "6*7"},
        },
    )
    question = f"What is Kafka, how does it compare, and what is 6*7? ({new_id()})"
    completion = await ask(gateway_url, question)
    assert completion.choices[0].message.content
    plan = await plan_of(kafka_url, completion)
    assert plan["planned_by"] == "llm_planner"
    assert [t["worker"] for t in plan["tasks"]] == ["expert", "expert", "tool"]
    request_id = completion.id.removeprefix("chatcmpl-")
    results = [r for r, _ in await read_topic(kafka_url, RESULTS, request_id, 3)]
    experts = [r for r in results if r["task_id"] != f"{request_id}:3"]
    # Both expert calls ran at the same time: each started before the other finished.
    first, second = experts
    assert (
        first["started_at"] < second["finished_at"] and second["started_at"] < first["finished_at"]
    )
    assert len(calls_of(scripted, "scripted-general")) == 2
    # The judge thinks first (several tasks), then writes: its last call is the answer.
    *_, judge = calls_of(scripted, "scripted-judge")
    assert "42" in judge["messages"][-1]["content"]  # the tool's exact value was merged


async def test_near_tie_for_the_router_goes_to_the_planner(
    planned_stack: tuple[str, str], scripted: ScriptedModel
) -> None:
    kafka_url, gateway_url = planned_stack
    script_plan(scripted, {"id": "t1", "task": "Explain what Kafka is", "category": "general"})
    completion = await ask(gateway_url, f"What is Kafka? ({new_id()})")
    plan = await plan_of(kafka_url, completion)
    assert plan["planned_by"] == "llm_planner" and len(calls_of(scripted, PLANNER_MODEL)) == 1
    assert plan["tasks"][0]["task"] == "Explain what Kafka is"


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        (Script(tokens=["Sure! Here is a plan: first, ..."]), "not JSON"),
        (
            Script(tokens=[json.dumps({"tasks": [{"id": "t", "task": "x", "category": "poet"}]})]),
            "poet",
        ),
        (Script(first_token_delay_s=3), "timed out"),
        (Script(fail_status=500), "call failed"),
    ],
)
async def test_unusable_planner_output_falls_back_to_one_general_task(
    planned_stack: tuple[str, str], scripted: ScriptedModel, script: Script, reason: str
) -> None:
    kafka_url, gateway_url = planned_stack
    scripted.model_scripts[PLANNER_MODEL] = script
    completion = await ask(gateway_url, f"Tell me about message brokers ({new_id()})")
    assert completion.choices[0].message.content == "".join(scripted.script.tokens)
    plan = await plan_of(kafka_url, completion)
    assert plan["planned_by"] == "fallback" and reason in plan["plan_note"]
    assert [(t["worker"], t["category"]) for t in plan["tasks"]] == [("expert", "general")]


async def test_invalid_entries_are_dropped_and_the_rest_planned(
    planned_stack: tuple[str, str], scripted: ScriptedModel
) -> None:
    kafka_url, gateway_url = planned_stack
    script_plan(
        scripted,
        {
            "id": "t1",
            "task": "Hash the word",
            "category": "general",
            "tool": "hash_text",
            "args": {"text": "x", "algorithm": "crc32"},
        },
        {"id": "t2", "task": "Write about brokers", "category": "ghostwriter"},
        {"id": "t3", "task": "Explain message brokers", "category": "general"},
    )
    completion = await ask(gateway_url, f"Tell me about message brokers ({new_id()})")
    plan = await plan_of(kafka_url, completion)
    assert plan["planned_by"] == "llm_planner"
    assert [t["task"] for t in plan["tasks"]] == ["Explain message brokers"]
    assert "crc32" in plan["plan_note"] and "ghostwriter" in plan["plan_note"]


async def test_clear_router_match_is_one_task_of_its_category_without_a_planner_call(
    planned_stack: tuple[str, str], scripted: ScriptedModel
) -> None:
    kafka_url, gateway_url = planned_stack
    completion = await ask(gateway_url, "What are the early signs of a stroke?")
    assert completion.choices[0].message.content == "".join(scripted.script.tokens)
    plan = await plan_of(kafka_url, completion)
    assert plan["planned_by"] == "router" and plan["plan_note"] == "medical_consult"
    assert [t["category"] for t in plan["tasks"]] == ["medical_consult"]
    assert plan["distance"] <= 0.68 and plan["margin"] >= 0.10
    assert calls_of(scripted, PLANNER_MODEL) == []  # the router settled it
    # The expert's answer, then the critic's review of it (a medical answer).
    assert [c["model"] for c in scripted.calls] == ["scripted-general", "scripted-judge"]

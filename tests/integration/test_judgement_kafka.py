"""Experts and judgement on a real broker: tier escalation, scores learned from ratings
given through the gateway (and kept over an expert restart), a three-task plan with
progress and thinking, the critic. Published plans stand in for the planner's
multi-task plans.

These services run on a broker of their own: the session's workers (default consumer
groups, other model settings) would otherwise answer these tasks too."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from faststream import FastStream

from bench.scripted_llm import Script, ScriptedModel, create_scripted_app
from contracts import ChatMessage, PlanCreated, TaskAssigned, TaskSpec, new_id
from contracts.inference import ExpertModel, InferenceServer
from contracts.topics import ANSWERS, PLANS, task_topic
from services.experts.app import create_app as create_experts
from services.experts.settings import ExpertSettings
from services.gateway.app import create_app as create_gateway
from services.gateway.settings import GatewaySettings
from services.merger.app import create_app as create_merger
from services.merger.prompts import CRITIC_SYSTEM, JUDGE_SYSTEM, THINKING_SYSTEM
from services.merger.settings import MergerSettings
from services.planner.app import create_app as create_planner
from services.planner.settings import PlannerSettings
from services.planner.tool_catalog import ToolCatalog
from tests.support.broker import running_broker
from tests.support.servers import serve
from tests.support.topics import publish_events, read_reply

pytestmark = pytest.mark.timeout(240)

KEYS = {"key-acme": "acme", "key-other": "other"}
MODELS = {
    "general": [
        ExpertModel(model="model-a", endpoint="s"),
        ExpertModel(model="model-b", endpoint="s"),
    ],
    "math": [
        ExpertModel(model="small-7b", endpoint="s"),
        ExpertModel(model="small-8b", endpoint="s"),
        ExpertModel(model="big-70b", endpoint="s"),
    ],
    "medical_consult": [ExpertModel(model="medic-7b", endpoint="s")],
    "translation": [ExpertModel(model="lingo-7b", endpoint="s")],
}
THOUGHT = ["1. Decomposition.", " 2. Sources agree.", " 3. Gaps: none.", " 4. Conclude."]


def report(confidence: str, details: str = "d") -> Script:
    tokens = [
        "CORE_FINDING: x\n",
        f"CONFIDENCE: {confidence}\n",
        "GAPS: none\n",
        f"DETAILS: {details}",
    ]
    # Tier-1 answers take a moment, so that their calls overlap visibly.
    return Script(tokens=tokens, first_token_delay_s=0.3)


class Stack:
    def __init__(self, kafka_url: str, model: ScriptedModel, model_url: str) -> None:
        self.kafka_url, self.model, self.model_url = kafka_url, model, model_url
        self.servers = [InferenceServer(name="s", url=f"{model_url}/v1", timeout=10)]

    def experts(self) -> FastStream:
        settings = ExpertSettings(
            kafka_url=self.kafka_url, inference_servers=self.servers, expert_models=MODELS
        )
        return create_experts(settings)


@pytest.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Stack, str]]:
    model = ScriptedModel()
    async with AsyncExitStack() as exits:
        kafka_url = await exits.enter_async_context(
            running_broker(tmp_path_factory.mktemp("kafka-judgement"))
        )
        model_url = await exits.enter_async_context(serve(create_scripted_app(model)))
        stack = Stack(kafka_url, model, model_url)
        merger = MergerSettings(
            kafka_url=kafka_url,
            inference_servers=stack.servers,
            judge_model="judge",
            judge_endpoint="s",
        )
        planner = create_planner(
            PlannerSettings(kafka_url=kafka_url, tools_url=""), catalog=ToolCatalog("")
        )
        apps = [planner, create_merger(merger)]
        await asyncio.gather(*(exits.enter_async_context(app) for app in apps))
        gateway = GatewaySettings(kafka_url=kafka_url, reply_timeout_s=30, api_keys=KEYS)
        gateway_url = await exits.enter_async_context(serve(create_gateway(gateway)))
        yield stack, gateway_url


@pytest.fixture
async def experts(stack: tuple[Stack, str]) -> AsyncIterator[Stack]:
    """An expert worker for one test; a test may start another (a restart)."""
    running, _ = stack
    running.model.reset(Script(tokens=["unscripted"]))
    async with running.experts():
        yield running


async def committed(kafka_url: str, request_id: str) -> dict[str, Any]:
    consumer = AIOKafkaConsumer(
        ANSWERS, bootstrap_servers=kafka_url, auto_offset_reset="earliest", fetch_max_wait_ms=5
    )
    await consumer.start()
    try:
        async with asyncio.timeout(30):
            while True:
                for records in (await consumer.getmany(timeout_ms=100)).values():
                    for r in records:
                        if r.key == request_id.encode():
                            return dict(json.loads(r.value))
    finally:
        await consumer.stop()


async def publish_plan(kafka_url: str, request_id: str, *categories: str) -> None:
    tasks = [
        TaskSpec(id=f"{request_id}:{i}", task=f"part {i}", category=c)
        for i, c in enumerate(categories)
    ]
    plan = PlanCreated(request_id=request_id, tenant="acme", question="What is 2+2?", tasks=tasks)
    assigned = [
        TaskAssigned(
            request_id=request_id,
            tenant="acme",
            task=task,
            messages=[ChatMessage(role="user", content="What is 2+2?")],
        )
        for task in tasks
    ]
    await publish_events(kafka_url, [(plan, PLANS), *((a, task_topic("expert")) for a in assigned)])


async def test_tier_2_is_asked_only_after_no_tier_1_answer_was_high(experts: Stack) -> None:
    experts.model.reset(
        Script(tokens=["unscripted"]),
        **{
            "small-7b": report("medium"),
            "small-8b": report("low"),
            "big-70b": report("high", "four"),
        },
    )
    request_id = new_id("tiers-")
    await publish_plan(experts.kafka_url, request_id, "math")
    replies = await read_reply(experts.kafka_url, request_id)
    answer = await committed(experts.kafka_url, request_id)
    assert sorted(experts.model.models_called()[:2]) == ["small-7b", "small-8b"]
    assert experts.model.models_called()[2:] == ["big-70b"]
    spans = {name: (start, end) for name, start, end in experts.model.spans}
    (a0, a1), (b0, b1) = spans["small-7b"], spans["small-8b"]
    assert a0 < b1 and b0 < a1  # tier 1 at once
    assert spans["big-70b"][0] >= max(a1, b1)  # tier 2 after tier 1 answered
    content = "".join(
        r["delta"] for r in replies if r["kind"] == "reply.chunk" and r["channel"] == "content"
    )
    assert content == answer["answer"] == "four"
    assert answer["models"] == ["big-70b::math"]


async def test_a_three_task_plan_shows_progress_and_thinks_before_answering(experts: Stack) -> None:
    experts.model.reset(
        Script(tokens=["unscripted"]),
        **{m.model: report("high") for ms in MODELS.values() for m in ms},
    )
    experts.model.system_scripts = [
        (THINKING_SYSTEM[:40], Script(tokens=THOUGHT)),
        (JUDGE_SYSTEM[:40], Script(tokens=["Four", "."])),
    ]
    request_id = new_id("three-")
    await publish_plan(experts.kafka_url, request_id, "math", "general", "translation")
    replies = await read_reply(experts.kafka_url, request_id)
    chunks = [r for r in replies if r["kind"] == "reply.chunk"]
    assert replies[-1]["kind"] == "reply.done" and [c["seq"] for c in chunks] == list(
        range(len(chunks))
    )
    channels = [c["channel"] for c in chunks]
    first_content = channels.index("content")
    assert set(channels[:first_content]) == {"reasoning"} and set(channels[first_content:]) == {
        "content"
    }
    reasoning = "".join(c["delta"] for c in chunks[:first_content])
    assert reasoning.startswith("Plan: 3 tasks: math, general, translation\n")
    assert all(f"- {c}: " in reasoning for c in ("math", "general", "translation"))
    assert "".join(THOUGHT) in reasoning
    assert "".join(c["delta"] for c in chunks[first_content:]) == "Four."


@pytest.mark.parametrize(
    ("verdict", "final"), [("CONFIRMED", "Four."), ("Four; see a doctor.", "Four; see a doctor.")]
)
async def test_the_critic_speaks_before_the_client_reads_a_medical_answer(
    experts: Stack, verdict: str, final: str
) -> None:
    experts.model.reset(
        Script(tokens=["unscripted"]), **{"medic-7b": report("high"), "small-7b": report("high")}
    )
    experts.model.system_scripts = [
        (THINKING_SYSTEM[:40], Script(tokens=THOUGHT)),
        (JUDGE_SYSTEM[:40], Script(tokens=["Four", "."])),
        (CRITIC_SYSTEM[:40], Script(tokens=[verdict])),
    ]
    request_id = new_id("critic-")
    await publish_plan(experts.kafka_url, request_id, "medical_consult", "math")
    replies = await read_reply(experts.kafka_url, request_id)
    content = [
        r["delta"] for r in replies if r["kind"] == "reply.chunk" and r["channel"] == "content"
    ]
    assert content == [final]  # one answer, never a draft and then its correction
    assert (await committed(experts.kafka_url, request_id))["answer"] == final


async def chat(client: httpx.AsyncClient, question: str) -> dict[str, Any]:
    body = {"model": "moe-orchestrator", "messages": [{"role": "user", "content": question}]}
    response = await client.post("/v1/chat/completions", json=body, headers=auth())
    assert response.status_code == 200, response.text
    return dict(response.json())


def auth(key: str = "key-acme") -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_ratings_reorder_the_experts_and_survive_a_restart(stack: tuple[Stack, str]) -> None:
    running, gateway_url = stack
    running.model.reset(
        Script(tokens=["unscripted"]),
        **{"model-a": Script(tokens=["A."]), "model-b": Script(tokens=["B."])},
    )
    async with httpx.AsyncClient(base_url=gateway_url, timeout=60) as client:
        unknown = await client.post(
            "/v1/feedback", json={"response_id": "chatcmpl-x", "rating": 1}, headers=auth()
        )
        assert (
            unknown.status_code == 404 and unknown.json()["error"]["code"] == "response_not_found"
        )
        async with running.experts():
            for i in range(5):
                answered = await chat(client, f"Question {i} {new_id()}?")
                assert answered["choices"][0]["message"]["content"] == "A."
                rating = {"response_id": answered["id"], "rating": 1}
                refused = await client.post("/v1/feedback", json=rating, headers=auth("key-other"))
                assert refused.status_code == 404
                given = await client.post("/v1/feedback", json=rating, headers=auth())
                assert given.status_code == 200 and given.json()["models"] == ["model-a::general"]
            # model-a now scores 1/7 after 5 ratings: skipped, model-b answers.
            answered = await _eventually(client, "B.")
        running.model.reset(
            Script(tokens=["unscripted"]),
            **{"model-a": Script(tokens=["A."]), "model-b": Script(tokens=["B."])},
        )
        async with running.experts():  # a restarted worker replays the ratings
            answered = await chat(client, f"After the restart {new_id()}?")
            assert answered["choices"][0]["message"]["content"] == "B."
            assert running.model.models_called() == ["model-b"]


async def _eventually(client: httpx.AsyncClient, expected: str) -> dict[str, Any]:
    """The first answer after the last rating reached the worker's view (the rating is
    published before the route answers; the worker reads it a moment later)."""
    for attempt in range(20):
        answered = await chat(client, f"Next {attempt} {new_id()}?")
        if answered["choices"][0]["message"]["content"] == expected:
            return answered
        await asyncio.sleep(0.2)
    raise AssertionError(f"never answered {expected!r}")

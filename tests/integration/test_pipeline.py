"""The request path end to end on the real broker: gateway → planner → expert → merger
→ gateway, with the scripted model standing in for vLLM."""

from __future__ import annotations

import asyncio
import json
import time
from itertools import pairwise

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from bench.scripted_llm import Script, ScriptedModel
from contracts import (
    CONTRACT_VERSION,
    ChatMessage,
    Event,
    PlanCreated,
    TaskAssigned,
    TaskSpec,
    new_id,
)
from contracts.topics import ANSWERS, DLQ, PLANS, REPLIES, REQUESTS, RESULTS, task_topic
from contracts.wire import VERSION_HEADER
from services.gateway.app import create_app as create_gateway
from services.gateway.settings import GatewaySettings
from tests.support.gateway import gateway_client
from tests.support.servers import serve
from tests.support.topics import content_of, publish_events, read_reply, read_topic


async def test_streamed_answer_arrives_through_kafka(
    gateway_url: str, scripted: ScriptedModel
) -> None:
    stream = await gateway_client(gateway_url).chat.completions.create(
        model="moe-orchestrator",
        messages=[{"role": "user", "content": "Say hello"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    contents = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert contents == scripted.script.tokens
    assert chunks[0].choices[0].delta.role == "assistant"
    finish = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert finish == ["stop"]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 5
    assert scripted.calls[0]["messages"][-1]["content"] == "Say hello"


async def test_non_streamed_answer_has_usage(gateway_url: str, scripted: ScriptedModel) -> None:
    scripted.reset(Script(tokens=["4", "2"], prompt_tokens=11))
    completion = await gateway_client(gateway_url).chat.completions.create(
        model="moe-orchestrator-concise",
        messages=[{"role": "user", "content": "The answer to everything?"}],
    )
    assert completion.choices[0].message.content == "42"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (11, 2)
    assert "at most 120 words" in scripted.calls[0]["messages"][0]["content"]


async def test_first_token_reaches_the_client_before_the_model_finishes(
    gateway_url: str, scripted: ScriptedModel
) -> None:
    scripted.reset(Script(tokens=["one", " two", " three", " four"], token_gap_s=0.4))
    stream = await gateway_client(gateway_url).chat.completions.create(
        model="moe-orchestrator", messages=[{"role": "user", "content": "count"}], stream=True
    )
    arrivals: list[tuple[float, str]] = []
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append((time.monotonic(), chunk.choices[0].delta.content))
    assert [text for _, text in arrivals] == ["one", " two", " three", " four"]
    # Streamed, not buffered: each token arrived while the model was still generating,
    # so consecutive arrivals are separated by the model's own gaps.
    gaps = [later - earlier for (earlier, _), (later, _) in pairwise(arrivals)]
    assert all(gap > 0.2 for gap in gaps), gaps


@pytest.mark.parametrize("stream", [False, True])
async def test_model_server_error_reaches_the_client_as_502(
    gateway_url: str, scripted: ScriptedModel, stream: bool
) -> None:
    scripted.reset(Script(fail_status=500))
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30) as http:
        response = await http.post(
            "/v1/chat/completions",
            json={
                "model": "moe-orchestrator",
                "stream": stream,
                "messages": [{"role": "user", "content": "hi"}],
            },
        )
    assert response.status_code == 502
    assert "scripted-general" in response.json()["error"]["message"]


async def test_no_reply_before_the_deadline_is_a_504(
    kafka_url: str, workers: None, scripted: ScriptedModel
) -> None:
    scripted.reset(Script(hang=True))
    app = create_gateway(GatewaySettings(kafka_url=kafka_url, reply_timeout_s=1.0))
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        response = await http.post(
            "/v1/chat/completions",
            json={
                "model": "moe-orchestrator",
                "messages": [{"role": "user", "content": "hi"}],
            },
        )
        assert response.status_code == 504
        assert response.json()["error"]["code"] == "timeout"
        assert app.state.pending._streams == {}


@pytest.mark.parametrize("topic", [REQUESTS, PLANS, RESULTS, task_topic("expert"), REPLIES])
async def test_malformed_event_is_dead_lettered_and_the_pipeline_keeps_going(
    kafka_url: str, gateway_url: str, scripted: ScriptedModel, topic: str
) -> None:
    key = f"garbage-{topic}".encode()
    producer = AIOKafkaProducer(bootstrap_servers=kafka_url)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b'{"kind": "nonsense"', key=key)
    finally:
        await producer.stop()
    [(letter, _)] = await read_topic(kafka_url, DLQ, key.decode(), 1)
    assert letter["kind"] == "dead.letter" and letter["original_topic"] == topic
    assert letter["original_value"] == '{"kind": "nonsense"' and letter["error"]
    completion = await gateway_client(gateway_url).chat.completions.create(
        model="moe-orchestrator", messages=[{"role": "user", "content": "still there?"}]
    )
    assert completion.choices[0].message.content == "Hello from the model."


async def test_a_request_trail_can_be_replayed_from_the_topics(
    kafka_url: str, gateway_url: str, scripted: ScriptedModel
) -> None:
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30) as http:
        response = await http.post(
            "/v1/chat/completions",
            json={
                "model": "moe-orchestrator",
                "messages": [{"role": "user", "content": "audit me"}],
            },
        )
    request_id = response.json()["id"].removeprefix("chatcmpl-")
    trail = await asyncio.gather(
        read_topic(kafka_url, REQUESTS, request_id, 1),
        read_topic(kafka_url, PLANS, request_id, 1),
        read_topic(kafka_url, task_topic("expert"), request_id, 1),
        read_topic(kafka_url, RESULTS, request_id, 1),
        read_topic(kafka_url, REPLIES, request_id, 6),
        read_topic(kafka_url, ANSWERS, request_id, 1),
    )
    kinds = [event["kind"] for events in trail for event, _ in events]
    assert kinds == [
        "request.received",
        "plan.created",
        "task.assigned",
        "task.result",
        *["reply.chunk"] * 5,
        "reply.done",
        "answer.committed",
    ]
    headers = [h for events in trail for _, h in events]
    assert all(h[VERSION_HEADER] == CONTRACT_VERSION.encode() for h in headers)
    # One W3C trace runs through the whole trail: every hop carries the same trace id.
    trace_ids = {h["traceparent"].split(b"-")[1] for h in headers}
    assert len(trace_ids) == 1
    assert trail[5][0][0]["answer"] == "Hello from the model."


async def test_arithmetic_is_answered_exactly_by_the_calculate_tool(
    gateway_url: str, scripted: ScriptedModel
) -> None:
    completion = await gateway_client(gateway_url).chat.completions.create(
        model="moe-orchestrator", messages=[{"role": "user", "content": "What is 2**64 - 1?"}]
    )
    # Exact, not estimated by a model: no model was called at all.
    assert "18446744073709551615" in (completion.choices[0].message.content or "")
    assert scripted.calls == []


async def test_planned_precision_task_puts_the_exact_value_in_the_answer(
    kafka_url: str, gateway_url: str, scripted: ScriptedModel
) -> None:
    """A plan published straight to the topics, as a load tester or a replay would:
    a unit conversion and a hash, fanned out to the tools worker and merged."""
    request_id = new_id("plan-")
    tasks = [
        TaskSpec(
            id="t1",
            task="convert",
            worker="tool",
            tool="unit_convert",
            args={"value": 212, "from_unit": "degF", "to_unit": "degC"},
        ),
        TaskSpec(
            id="t2",
            task="hash",
            worker="tool",
            tool="hash_text",
            args={"text": "abc", "algorithm": "sha256"},
        ),
    ]
    plan = PlanCreated(request_id=request_id, tasks=tasks, question="convert and hash")
    events: list[tuple[Event, str]] = [(plan, PLANS)] + [
        (
            TaskAssigned(
                request_id=request_id,
                task=t,
                messages=[ChatMessage(role="user", content="convert and hash")],
            ),
            task_topic("tool"),
        )
        for t in tasks
    ]
    await publish_events(kafka_url, events)
    [(answer, _)] = await read_topic(kafka_url, ANSWERS, request_id, 1, timeout_s=30)
    assert "100" in answer["answer"]
    sha = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert sha in answer["answer"]
    assert scripted.calls == []  # tool values only: no judge rewrites them


def scripted_text(text: str, *tokens: str) -> str:
    """`text` carrying the scripted model's tokens for the call whose prompt ends in it."""
    return f"{text} SCRIPT{json.dumps({'tokens': list(tokens)})}"


async def test_multi_task_plan_is_synthesized_by_the_judge_and_streamed(
    kafka_url: str,
    workers: None,
    scripted: ScriptedModel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two expert tasks and a tool task published straight to the topics: the merger's
    judge (the scripted server, its tokens given in the question) writes the answer."""
    monkeypatch.setattr(scripted, "prompt_overrides", True)
    request_id = new_id("judged-")
    # The judge quotes the tool's 42 as computed: the precision guard has nothing to add.
    question = scripted_text("Why is 6*7 interesting?", "Forty", "-two (42)", ", exactly.")
    tasks = [
        TaskSpec(id="e1", task=scripted_text("why 42?", "Because", " Douglas", " Adams")),
        TaskSpec(id="e2", task=scripted_text("history of 42", "It", " is", " old")),
        TaskSpec(id="t", task="6*7", worker="tool", tool="calculate", args={"expression": "6*7"}),
    ]
    plan = PlanCreated(request_id=request_id, tasks=tasks, question=question)
    messages = [ChatMessage(role="user", content=question)]
    events: list[tuple[Event, str]] = [(plan, PLANS)] + [
        (
            TaskAssigned(request_id=request_id, task=t, messages=messages),
            task_topic(t.worker),
        )
        for t in tasks
    ]
    await publish_events(kafka_url, events)
    replies = await read_reply(kafka_url, request_id, timeout_s=30)
    [(answer, _)] = await read_topic(kafka_url, ANSWERS, request_id, 1, timeout_s=30)
    # Progress lines and the thinking step (reasoning) come first, then the answer.
    content = content_of(replies)
    assert [e["delta"] for e in content] == ["Forty", "-two (42)", ", exactly."]
    assert [e["seq"] for e in replies] == list(range(len(replies)))
    assert replies[-1]["kind"] == "reply.done" and content[-1] is replies[-2]
    assert answer["answer"] == "Forty-two (42), exactly."
    # The thinking step, then the judge's answer.
    *_, judge_call = [c for c in scripted.calls if c["model"] == "scripted-judge"]
    prompt = judge_call["messages"][-1]["content"]
    # The exact tool value first, then both experts, then the question.
    order = [
        prompt.index(s) for s in ("result: 42", "Because Douglas Adams", "It is old", "6*7 inter")
    ]
    assert order == sorted(order)
    experts = [c for c in scripted.calls if c["model"] == "scripted-general"]
    assert len(experts) == 2  # each expert task once; the judge once

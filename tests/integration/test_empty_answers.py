"""An empty or cut-off model answer on the real broker: the client gets an error (or, for
the judge, the sources concatenated), never an empty success, and nothing is cached —
asked again, the question reaches the model again."""

from __future__ import annotations

import asyncio
import json

import openai
import pytest

from bench.scripted_llm import ScriptedModel
from contracts import ChatMessage, Event, PlanCreated, TaskAssigned, TaskSpec, new_id
from contracts.topics import ANSWERS, PLANS, task_topic
from tests.support.gateway import gateway_client
from tests.support.topics import content_of, publish_events, read_reply, read_topic

# The planner's cache view trails moe.answers by up to 50 ms: after this long, an answer
# that had been committed with a cache key would be served from the cache.
CACHE_VIEW_LAG_S = 0.5


@pytest.fixture
def scripted_by_prompt(scripted: ScriptedModel, monkeypatch: pytest.MonkeyPatch) -> ScriptedModel:
    """Each question carries its own script (`SCRIPT{...}`), as the model sees it."""
    monkeypatch.setattr(scripted, "prompt_overrides", True)
    return scripted


def question(text: str, **script: object) -> str:
    return f"{text} ({new_id()}) SCRIPT{json.dumps(script)}"


async def ask(gateway_url: str, content: str, stream: bool) -> str:
    """The answer's text, streamed or not, through the official client."""
    client = gateway_client(gateway_url)
    messages = [{"role": "user", "content": content}]
    if not stream:
        completion = await client.chat.completions.create(
            model="moe-orchestrator",
            messages=messages,  # type: ignore[arg-type]
        )
        return completion.choices[0].message.content or ""
    chunks = await client.chat.completions.create(
        model="moe-orchestrator",
        messages=messages,  # type: ignore[arg-type]
        stream=True,
    )
    return "".join([c.choices[0].delta.content or "" async for c in chunks if c.choices])


@pytest.mark.parametrize("stream", [False, True])
async def test_an_empty_model_answer_is_a_502_and_never_cached(
    gateway_url: str, scripted_by_prompt: ScriptedModel, stream: bool
) -> None:
    content = question("Tell me a short fact about Kafka.", tokens=[])
    for attempt in (1, 2):
        with pytest.raises(openai.APIStatusError) as raised:
            await ask(gateway_url, content, stream)
        assert raised.value.status_code == 502
        assert "'scripted-general' answered nothing" in str(raised.value)
        # Not served from the cache: the question reached the model again.
        assert len(scripted_by_prompt.calls) == attempt
        await asyncio.sleep(CACHE_VIEW_LAG_S)


@pytest.mark.parametrize("sends_done", [False, True], ids=["connection-closed", "done-sent"])
async def test_a_stream_cut_by_the_model_server_ends_in_an_error_and_is_never_cached(
    gateway_url: str, scripted_by_prompt: ScriptedModel, sends_done: bool
) -> None:
    tokens = ["Kafka", " is", " a", " log."]
    content = question(
        "Tell me about Kafka.", tokens=tokens, cut_after_tokens=2, cut_sends_done=sends_done
    )
    for attempt in (1, 2):
        chunks = await gateway_client(gateway_url).chat.completions.create(
            model="moe-orchestrator",
            messages=[{"role": "user", "content": content}],
            stream=True,
        )
        received: list[str] = []
        with pytest.raises(openai.APIError, match="without a finish_reason"):
            async for chunk in chunks:
                if chunk.choices and chunk.choices[0].delta.content:
                    received.append(chunk.choices[0].delta.content)
        assert received == tokens[:2]  # sent as they came; the error event ends them
        assert len(scripted_by_prompt.calls) == attempt
        await asyncio.sleep(CACHE_VIEW_LAG_S)


async def test_a_cut_answer_asked_without_streaming_is_a_502_and_never_cached(
    gateway_url: str, scripted_by_prompt: ScriptedModel
) -> None:
    content = question("Tell me about partitions.", cut_after_tokens=3, cut_sends_done=True)
    for attempt in (1, 2):
        with pytest.raises(openai.APIStatusError) as raised:
            await ask(gateway_url, content, stream=False)
        assert raised.value.status_code == 502 and "scripted-general" in str(raised.value)
        assert len(scripted_by_prompt.calls) == attempt
        await asyncio.sleep(CACHE_VIEW_LAG_S)


async def test_a_judge_that_answers_nothing_is_replaced_by_the_sources_uncached(
    kafka_url: str, workers: None, scripted_by_prompt: ScriptedModel
) -> None:
    """Two expert tasks published straight to the topics with a cacheable plan; the
    judge (scripted through the question) answers nothing."""
    request_id = new_id("silent-judge-")
    asked = question("Why is the sky blue?", tokens=[])
    tasks = [
        TaskSpec(id="e1", task=question("physics", tokens=["Rayleigh", " scattering."])),
        TaskSpec(id="e2", task=question("colour", tokens=["Blue", " is", " short."])),
    ]
    plan = PlanCreated(request_id=request_id, tasks=tasks, question=asked, cache_key="k-sky")
    messages = [ChatMessage(role="user", content=asked)]
    events: list[tuple[Event, str]] = [(plan, PLANS)] + [
        (TaskAssigned(request_id=request_id, task=t, messages=messages), task_topic("expert"))
        for t in tasks
    ]
    await publish_events(kafka_url, events)
    replies = await read_reply(kafka_url, request_id)
    [(answer, _)] = await read_topic(kafka_url, ANSWERS, request_id, 1)
    # After the reasoning (progress; the thinking step said nothing either): the sources.
    [chunk] = content_of(replies)
    assert replies[-1]["kind"] == "reply.done"
    text = chunk["delta"]
    assert "Rayleigh scattering." in text and "Blue is short." in text
    assert answer["answer"] == text and answer["cache_key"] is None
    # The thinking step and the judge, each asked once.
    assert [c["model"] for c in scripted_by_prompt.calls].count("scripted-judge") == 2

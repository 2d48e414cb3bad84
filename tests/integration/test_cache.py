"""The answer cache on the real broker: a repeated question is answered through the
gateway without any model call; negative feedback takes the answer out of the cache;
identical requests in flight share one model call, and its failure only if they were made
before it."""

from __future__ import annotations

import asyncio

import openai
import pytest

from bench.scripted_llm import Script, ScriptedModel
from contracts import FeedbackGiven, new_id
from contracts.topics import FEEDBACK, PLANS
from tests.support.gateway import gateway_client
from tests.support.topics import publish_events, read_topic


async def ask(gateway_url: str, question: str) -> openai.types.chat.ChatCompletion:
    return await gateway_client(gateway_url).chat.completions.create(
        model="moe-orchestrator", messages=[{"role": "user", "content": question}]
    )


async def ask_until_cached(
    gateway_url: str, scripted: ScriptedModel, question: str, timeout_s: float = 15.0
) -> openai.types.chat.ChatCompletion:
    """The cache is a view of moe.answers and trails it a little: ask until an answer
    comes without a model call."""
    async with asyncio.timeout(timeout_s):
        while True:
            calls = len(scripted.calls)
            completion = await ask(gateway_url, question)
            if len(scripted.calls) == calls:
                return completion
            await asyncio.sleep(0.05)


async def test_repeated_question_is_answered_from_the_cache(
    kafka_url: str, gateway_url: str, scripted: ScriptedModel
) -> None:
    question = f"What is a broker? ({new_id()})"
    first = await ask(gateway_url, question)
    assert len(scripted.calls) == 1
    again = await ask_until_cached(gateway_url, scripted, question)
    assert again.choices[0].message.content == first.choices[0].message.content
    assert again.usage is not None and again.usage.total_tokens == 0
    assert again.id != first.id
    # The hit is on record as the request's plan, pointing at the answer it reused.
    request_id = again.id.removeprefix("chatcmpl-")
    [(plan, _)] = await read_topic(kafka_url, PLANS, request_id, 1)
    assert plan["tasks"] == [] and plan["cache_hit"]["answer"] == first.choices[0].message.content

    # A streamed client gets the cached answer as a stream, too.
    stream = await gateway_client(gateway_url).chat.completions.create(
        model="moe-orchestrator", messages=[{"role": "user", "content": question}], stream=True
    )
    calls = len(scripted.calls)
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == first.choices[0].message.content and len(scripted.calls) == calls


async def test_another_mode_is_not_served_the_cached_answer(
    gateway_url: str, scripted: ScriptedModel
) -> None:
    question = f"Why partitions? ({new_id()})"
    await ask(gateway_url, question)
    await ask_until_cached(gateway_url, scripted, question)
    calls = len(scripted.calls)
    await gateway_client(gateway_url).chat.completions.create(
        model="moe-orchestrator-concise", messages=[{"role": "user", "content": question}]
    )
    assert len(scripted.calls) == calls + 1


async def test_negative_feedback_takes_the_answer_out_of_the_cache(
    kafka_url: str, gateway_url: str, scripted: ScriptedModel
) -> None:
    question = f"Is this right? ({new_id()})"
    first = await ask(gateway_url, question)
    await ask_until_cached(gateway_url, scripted, question)
    feedback = FeedbackGiven(
        request_id=first.id.removeprefix("chatcmpl-"), response_id=first.id, rating=-1
    )
    await publish_events(kafka_url, [(feedback, FEEDBACK)])
    async with asyncio.timeout(15):
        while True:  # the view applies the feedback within its fetch wait
            calls = len(scripted.calls)
            await ask(gateway_url, question)
            if len(scripted.calls) > calls:
                break
            await asyncio.sleep(0.05)


async def test_question_repeated_at_once_is_a_hit(
    kafka_url: str, gateway_url: str, scripted: ScriptedModel
) -> None:
    """Sent the moment the first answer arrives, before the cache view can have it."""
    question = f"What is a topic? ({new_id()})"
    first = await ask(gateway_url, question)
    again = await ask(gateway_url, question)
    assert len(scripted.calls) == 1
    assert again.choices[0].message.content == first.choices[0].message.content
    [(plan, _)] = await read_topic(kafka_url, PLANS, again.id.removeprefix("chatcmpl-"), 1)
    assert plan["planned_by"] in ("exact_cache", "coalesced") and plan["tasks"] == []


async def test_identical_concurrent_requests_call_the_model_once(
    kafka_url: str, gateway_url: str, scripted: ScriptedModel
) -> None:
    scripted.reset(Script(tokens=["One", " answer", " for", " all."], first_token_delay_s=0.5))
    question = f"What is a consumer group? ({new_id()})"
    completions = await asyncio.gather(*(ask(gateway_url, question) for _ in range(4)))
    assert len(scripted.calls) == 1
    assert {c.choices[0].message.content for c in completions} == {"One answer for all."}
    plans = [
        (await read_topic(kafka_url, PLANS, c.id.removeprefix("chatcmpl-"), 1))[0][0]
        for c in completions
    ]
    sources = sorted(plan["planned_by"] for plan in plans)
    assert sources == ["coalesced", "coalesced", "coalesced", "fallback"]


async def test_asking_again_at_once_after_a_failure_is_a_new_attempt(
    gateway_url: str, scripted: ScriptedModel
) -> None:
    # The planner reads the failure a batch wait after the client has it: the second
    # request, sent at once, may join the failed one; it gets a model call of its own.
    scripted.reset(Script(fail_status=500))
    question = f"What is a partition? ({new_id()})"
    with pytest.raises(openai.APIStatusError) as failed:
        await ask(gateway_url, question)
    assert failed.value.status_code == 502
    scripted.reset(Script(tokens=["Second", " try."]))
    again = await ask(gateway_url, question)
    assert again.choices[0].message.content == "Second try." and len(scripted.calls) == 1


async def test_identical_concurrent_requests_share_a_failure(
    gateway_url: str, scripted: ScriptedModel
) -> None:
    scripted.reset(Script(first_token_delay_s=0.5, fail_after_tokens=0))
    question = f"What is an offset? ({new_id()})"
    outcomes = await asyncio.gather(
        *(ask(gateway_url, question) for _ in range(3)), return_exceptions=True
    )
    assert [getattr(o, "status_code", o) for o in outcomes] == [502, 502, 502]
    assert len(scripted.calls) == 1


async def test_followers_streams_follow_the_leaders_tokens(
    gateway_url: str, scripted: ScriptedModel
) -> None:
    tokens = ["Each", " follower", " gets", " these", " tokens."]
    scripted.reset(Script(tokens=tokens, first_token_delay_s=0.2, token_gap_s=0.1))
    question = f"What does a follower stream? ({new_id()})"

    async def streamed() -> list[str]:
        stream = await gateway_client(gateway_url).chat.completions.create(
            model="moe-orchestrator",
            messages=[{"role": "user", "content": question}],
            stream=True,
        )
        return [
            c.choices[0].delta.content
            async for c in stream
            if c.choices and c.choices[0].delta.content
        ]

    received = await asyncio.gather(*(streamed() for _ in range(3)))
    assert received == [tokens, tokens, tokens]
    assert len(scripted.calls) == 1

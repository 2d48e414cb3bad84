"""The whole local stack, as `make run` starts it, answering with the real SmolLM2
model through the official OpenAI client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import openai
import pytest

from contracts import ChatMessage, GenerationOptions, PlanCreated, TaskAssigned, TaskSpec, new_id
from contracts.model_load import read_model_load
from contracts.topics import ANSWERS, PLANS, task_topic
from deploy.local import LocalStack, StackConfig
from deploy.local.llm import MODEL_ALIAS as LOCAL_MODEL
from deploy.local.llm import PARALLEL_SLOTS
from tests.support.stack import local_stack_config
from tests.support.topics import content_of, publish_events, read_reply, read_topic

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack_config(tmp_path_factory: pytest.TempPathFactory) -> StackConfig:
    return local_stack_config(tmp_path_factory, "stack")


@pytest.fixture(scope="module")
async def api_url(stack_config: StackConfig) -> AsyncIterator[str]:
    async with LocalStack(stack_config):
        yield stack_config.api_url


def client(api_url: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=api_url, api_key="unused", timeout=120, max_retries=0)


async def test_real_model_streams_an_answer(api_url: str) -> None:
    stream = await client(api_url).chat.completions.create(
        model="moe-orchestrator",
        messages=[{"role": "user", "content": "Name three colours."}],
        max_tokens=40,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    with_content = [c for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(with_content) >= 3
    finish_at = next(i for i, c in enumerate(chunks) if c.choices and c.choices[0].finish_reason)
    assert chunks[finish_at].choices[0].finish_reason in ("stop", "length")
    assert all(chunks.index(c) < finish_at for c in with_content)
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


async def test_real_model_answers_without_streaming(api_url: str) -> None:
    completion = await client(api_url).chat.completions.create(
        model="moe-orchestrator-concise",
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        max_tokens=30,
    )
    assert completion.choices[0].message.content
    assert completion.usage is not None
    assert completion.usage.prompt_tokens > 0 and completion.usage.completion_tokens > 0
    assert completion.usage.total_tokens == (
        completion.usage.prompt_tokens + completion.usage.completion_tokens
    )


async def test_models_endpoint_lists_the_modes(api_url: str) -> None:
    models = await client(api_url).models.list()
    assert {m.id for m in models.data} >= {"moe-orchestrator", "moe-orchestrator-code"}


async def streamed_answer(api_url: str, question: str) -> str:
    stream = await client(api_url).chat.completions.create(
        model="moe-orchestrator",
        messages=[{"role": "user", "content": question}],
        max_tokens=48,
        temperature=0,
        stream=True,
    )
    return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])


async def test_three_concurrent_requests_each_get_their_own_answer(api_url: str) -> None:
    # Distinct topics, checked loosely: a 135M model still names what it is asked about.
    asked = {
        "penguin": "Write one sentence about penguins.",
        "volcano": "Write one sentence about volcanoes.",
        "guitar": "Write one sentence about the guitar.",
    }
    answers = await asyncio.gather(*(streamed_answer(api_url, q) for q in asked.values()))
    for (topic, question), answer in zip(asked.items(), answers, strict=True):
        assert answer.strip(), f"empty answer to {question!r}"
        assert topic in answer.lower(), f"{question!r} was answered with {answer!r}"


async def test_a_chat_and_its_title_request_at_once_both_complete(api_url: str) -> None:
    # Open WebUI sends a title-generation request (not streamed) beside the chat itself.
    chat = streamed_answer(api_url, "Why is the sky blue?")
    title = client(api_url).chat.completions.create(
        model="moe-orchestrator",
        messages=[
            {
                "role": "user",
                "content": "### Task:\nGenerate a concise, 3-5 word title with an emoji "
                "summarizing the chat history.\n### Chat History:\n<chat_history>\n"
                "USER: Why is the sky blue?\n</chat_history>",
            }
        ],
        max_tokens=24,
    )
    answer, titled = await asyncio.gather(chat, title)
    assert answer.strip()
    assert (titled.choices[0].message.content or "").strip()


async def test_the_model_server_reports_its_slots(api_url: str, stack_config: StackConfig) -> None:
    (server,) = stack_config.servers()
    async with httpx.AsyncClient() as http:
        load = await read_model_load(server, http)
    assert (load.source, load.total_slots) == ("llama.cpp", PARALLEL_SLOTS)
    assert load.busy_slots is not None and load.queued is not None


async def test_a_two_task_plan_is_thought_through_and_answered(
    api_url: str, stack_config: StackConfig
) -> None:
    """Experts and judgement on the real model: a two-task plan (published as a load
    tester does; the planner makes one-task plans today) is answered by two experts,
    then the judge thinks (streamed as reasoning) and writes the answer."""
    request_id = new_id("e2e-thinking-")
    question = "What is 2 + 2, and what colour is the sky?"
    options = GenerationOptions(max_tokens=32, temperature=0)
    tasks = [
        TaskSpec(id=f"{request_id}:1", task="What is 2 + 2?", category="math"),
        TaskSpec(id=f"{request_id}:2", task="What colour is the sky?", category="general"),
    ]
    plan = PlanCreated(request_id=request_id, question=question, tasks=tasks, options=options)
    messages = [ChatMessage(role="user", content=question)]
    assigned = [
        TaskAssigned(request_id=request_id, task=t, messages=messages, options=options)
        for t in tasks
    ]
    bootstrap = stack_config.bootstrap
    await publish_events(bootstrap, [(plan, PLANS), *((a, task_topic("expert")) for a in assigned)])
    replies = await read_reply(bootstrap, request_id, timeout_s=180)
    assert replies[-1]["kind"] == "reply.done", replies[-1]
    chunks = [r for r in replies if r["kind"] == "reply.chunk"]
    channels = [c["channel"] for c in chunks]
    first_content = channels.index("content")
    assert set(channels[first_content:]) == {"content"}  # reasoning first, then the answer
    reasoning = "".join(c["delta"] for c in chunks[:first_content])
    assert reasoning.startswith("Plan: 2 tasks: math, general\n")
    assert reasoning.count(f"{LOCAL_MODEL} (tier 1)") == 2  # each expert's progress line
    assert "".join(c["delta"] for c in content_of(replies)).strip()
    [(answer, _)] = await read_topic(bootstrap, ANSWERS, request_id, 1)
    assert f"{LOCAL_MODEL}::thinking" in answer["models"]
    assert f"{LOCAL_MODEL}::judge" in answer["models"]
    assert answer["usage"]["completion_tokens"] > 0

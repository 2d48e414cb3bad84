"""The whole local stack, as `make run` starts it, answering with the real SmolLM2
model through the official OpenAI client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import openai
import pytest

from deploy.local import LocalStack, StackConfig, free_port

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
async def api_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    config = StackConfig(
        broker_port=free_port(),
        controller_port=free_port(),
        state_dir=Path(tmp_path_factory.mktemp("stack-state")),
        graph_port=free_port(),
        bolt_port=free_port(max_port=32767),
        llm_port=free_port(),
        gateway_port=free_port(),
        tools_port=free_port(),
        log_dir=Path(tmp_path_factory.mktemp("stack-logs")),
    )
    async with LocalStack(config):
        yield config.api_url


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

"""The LLM planner on the whole local stack with the real SmolLM2 model: its structured
output is parsed (whatever a 135M model puts in it) and the request is answered."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import openai
import pytest

from contracts.topics import PLANS
from deploy.local import LocalStack, StackConfig
from tests.support.stack import local_stack_config
from tests.support.topics import first_event

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def planner_env() -> Iterator[None]:
    """The stack's services inherit this process's environment."""
    wanted = {"PLANNER_LLM_PLANNER": "true", "PLANNER_LLM_TIMEOUT_S": "90"}
    before = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    yield
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="module")
async def stack(
    planner_env: None, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[StackConfig]:
    config = local_stack_config(tmp_path_factory, "planned")
    async with LocalStack(config):
        yield config


async def test_real_models_structured_plan_is_parsed_and_answered(stack: StackConfig) -> None:
    client = openai.AsyncOpenAI(
        base_url=stack.api_url, api_key="unused", timeout=300, max_retries=0
    )
    completion = await client.chat.completions.create(
        model="moe-orchestrator",
        messages=[{"role": "user", "content": "What is Kafka and how is it used?"}],
        max_tokens=60,
    )
    assert completion.choices[0].message.content
    plan = await first_event(stack.bootstrap, PLANS, completion.id.removeprefix("chatcmpl-"))
    # Parsed: a plan of valid entries, or a fallback because none was valid; never a
    # fallback for a failed call, a timeout or output that is not JSON.
    assert plan["planned_by"] in ("llm_planner", "fallback"), plan
    if plan["planned_by"] == "fallback":
        assert plan["plan_note"].startswith("no valid task in planner output"), plan
    assert plan["tasks"]

"""The semantic cache on the real broker and a real ChromaDB: a paraphrase of an answered
question is answered from it with no model call, and only within its tenant and mode,
only while no negative feedback flagged it, only when close enough."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import openai
import pytest

from bench.scripted_llm import Script, ScriptedModel
from contracts import FeedbackGiven
from contracts.topics import FEEDBACK, PLANS
from services.planner.semantic_cache import open_client, tenant_collection
from tests.support.planner_stack import PlannerStack, planner_stack
from tests.support.topics import first_event, publish_events

LONG_ANSWER = (
    "Open the account settings, choose Security, then Reset password. You will get an "
    "e-mail with a link that is valid for one hour; follow it and choose a new password "
    "of at least twelve characters."
)
QUESTION = "How can I reset my account password?"
PARAPHRASE = "How do I reset the password of my account?"
TENANTS = 20
_unused_tenants = itertools.count()


@pytest.fixture(scope="module")
def chroma_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("semantic-chroma")


@pytest.fixture(scope="module")
async def semantic_stack(
    tmp_path_factory: pytest.TempPathFactory,
    scripted_server: tuple[ScriptedModel, str],
    chroma_path: Path,
) -> AsyncIterator[PlannerStack]:
    """A stack of its own whose planner has the embedded semantic cache, and whose
    gateway knows an API key for each of TENANTS tenants."""
    _, model_url = scripted_server
    async with planner_stack(
        tmp_path_factory.mktemp("semantic"),
        model_url,
        api_keys={f"key-{n}": f"tenant-{n}" for n in range(TENANTS)},
        chroma_path=chroma_path,
    ) as stack:
        yield stack


@pytest.fixture
def tenants(semantic_stack: PlannerStack) -> dict[str, openai.AsyncOpenAI]:
    """Two tenants no other test used: "a" and "b"."""
    url = semantic_stack.gateway_url
    return {
        name: openai.AsyncOpenAI(
            base_url=f"{url}/v1", api_key=f"key-{next(_unused_tenants)}", max_retries=0
        )
        for name in ("a", "b")
    }


@pytest.fixture
def kafka_url(semantic_stack: PlannerStack) -> str:
    return semantic_stack.kafka_url


async def ask(client: openai.AsyncOpenAI, question: str, model: str = "moe-orchestrator") -> Any:
    return await client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": question}]
    )


def tenant_of(client: openai.AsyncOpenAI) -> str:
    return client.api_key.replace("key-", "tenant-")  # as the stack's API keys map them


async def stored(chroma_path: Path, tenant: str, response_id: str, flagged: bool = False) -> None:
    """Until the semantic cache's writer has the answer (and, if asked, its flag) in the
    tenant's collection of the default mode."""
    collection = tenant_collection(open_client(chroma_path, None, None), tenant, "default")
    async with asyncio.timeout(20):
        while True:
            found = await asyncio.to_thread(collection.get, ids=[response_id])
            if found["ids"] and found["metadatas"][0]["flagged"] == flagged:
                return
            await asyncio.sleep(0.05)


async def answered_first(
    chroma_path: Path, scripted: ScriptedModel, client: openai.AsyncOpenAI
) -> Any:
    scripted.reset(Script(tokens=[LONG_ANSWER]))
    first = await ask(client, QUESTION)
    assert first.choices[0].message.content == LONG_ANSWER and len(scripted.calls) == 1
    await stored(chroma_path, tenant_of(client), first.id)
    return first


async def test_paraphrase_is_answered_from_the_semantic_cache(
    kafka_url: str,
    chroma_path: Path,
    scripted: ScriptedModel,
    tenants: dict[str, openai.AsyncOpenAI],
) -> None:
    first = await answered_first(chroma_path, scripted, tenants["a"])
    again = await ask(tenants["a"], PARAPHRASE)
    assert again.choices[0].message.content == LONG_ANSWER
    assert len(scripted.calls) == 1  # no model call at all
    plan = await first_event(kafka_url, PLANS, again.id.removeprefix("chatcmpl-"))
    assert plan["planned_by"] == "semantic_cache" and plan["tasks"] == []
    assert 0 <= plan["distance"] < 0.15
    assert plan["cache_hit"]["response_id"] == first.id


async def test_semantic_cache_misses_far_questions_other_tenants_and_other_modes(
    chroma_path: Path, scripted: ScriptedModel, tenants: dict[str, openai.AsyncOpenAI]
) -> None:
    await answered_first(chroma_path, scripted, tenants["a"])
    await ask(tenants["a"], "What is the weather like in Paris today?")
    assert len(scripted.calls) == 2
    await ask(tenants["b"], PARAPHRASE)
    assert len(scripted.calls) == 3
    await ask(tenants["a"], PARAPHRASE, model="moe-orchestrator-concise")
    assert len(scripted.calls) == 4


async def test_flagged_entry_is_never_served(
    kafka_url: str,
    chroma_path: Path,
    scripted: ScriptedModel,
    tenants: dict[str, openai.AsyncOpenAI],
) -> None:
    first = await answered_first(chroma_path, scripted, tenants["a"])
    feedback = FeedbackGiven(
        request_id=first.id.removeprefix("chatcmpl-"), response_id=first.id, rating=-1
    )
    await publish_events(kafka_url, [(feedback, FEEDBACK)])
    await stored(chroma_path, tenant_of(tenants["a"]), first.id, flagged=True)
    again = await ask(tenants["a"], PARAPHRASE)
    assert len(scripted.calls) == 2
    plan = await first_event(kafka_url, PLANS, again.id.removeprefix("chatcmpl-"))
    assert plan["planned_by"] != "semantic_cache"


async def test_a_paraphrase_asked_again_after_a_flag_is_not_given_the_flagged_answer(
    kafka_url: str,
    chroma_path: Path,
    scripted: ScriptedModel,
    tenants: dict[str, openai.AsyncOpenAI],
) -> None:
    """The paraphrase answered by meaning is no leader for the same question asked later:
    that one is looked up again, and meets the flag."""
    first = await answered_first(chroma_path, scripted, tenants["a"])
    hit = await ask(tenants["a"], PARAPHRASE)
    plan = await first_event(kafka_url, PLANS, hit.id.removeprefix("chatcmpl-"))
    assert plan["planned_by"] == "semantic_cache"
    feedback = FeedbackGiven(
        request_id=first.id.removeprefix("chatcmpl-"), response_id=first.id, rating=-1
    )
    await publish_events(kafka_url, [(feedback, FEEDBACK)])
    await stored(chroma_path, tenant_of(tenants["a"]), first.id, flagged=True)
    again = await ask(tenants["a"], PARAPHRASE)
    plan = await first_event(kafka_url, PLANS, again.id.removeprefix("chatcmpl-"))
    assert plan["planned_by"] not in {"semantic_cache", "coalesced"}
    assert len(scripted.calls) == 2


async def test_follow_up_is_not_cached_under_its_bare_text(
    kafka_url: str, scripted: ScriptedModel, tenants: dict[str, openai.AsyncOpenAI]
) -> None:
    scripted.reset(Script(tokens=[LONG_ANSWER]))
    conversation = [
        {"role": "user", "content": "What is 20 degrees Celsius in Kelvin, roughly?"},
        {"role": "assistant", "content": "About 293 kelvin."},
        {"role": "user", "content": "and in Fahrenheit, and why?"},
    ]
    await tenants["a"].chat.completions.create(model="moe-orchestrator", messages=conversation)
    bare = await ask(tenants["a"], "and in Fahrenheit, and why?")
    assert len(scripted.calls) == 2
    plan = await first_event(kafka_url, PLANS, bare.id.removeprefix("chatcmpl-"))
    assert plan["planned_by"] != "semantic_cache" and plan["tasks"]


async def test_a_precise_question_is_never_answered_by_meaning(
    kafka_url: str, scripted: ScriptedModel, tenants: dict[str, openai.AsyncOpenAI]
) -> None:
    """ "98 km/h" and "97 km/h" are near neighbours; their exact values are not."""
    scripted.reset(Script(tokens=[LONG_ANSWER]))
    asked = "Convert {} km/h to m/s and explain why m/s is the SI unit"
    await ask(tenants["a"], asked.format(98))
    again = await ask(tenants["a"], asked.format(97))
    plan = await first_event(kafka_url, PLANS, again.id.removeprefix("chatcmpl-"))
    assert plan["planned_by"] == "precision"
    assert plan["tasks"][0]["args"] == {"value": 97, "from_unit": "km/h", "to_unit": "m/s"}

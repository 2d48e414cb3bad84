"""The merger's judgement: the best result per task, progress lines and the thinking
step as reasoning chunks, the critic, usage and models. The judge is the scripted model
over real HTTP; the merger runs on the in-memory broker."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker

from bench.scripted_llm import Script, ScriptedModel, create_scripted_app
from contracts import (
    AnswerCommitted,
    PlanCreated,
    ReplyChunk,
    ReplyDone,
    TaskResult,
    TaskSpec,
    Usage,
)
from contracts.inference import InferenceServer
from contracts.topics import ANSWERS, PLANS, REPLIES, RESULTS
from contracts.wire import make_broker
from services.merger.app import create_app
from services.merger.prompts import CRITIC_SYSTEM, JUDGE_SYSTEM, THINKING_SYSTEM
from services.merger.settings import MergerSettings
from tests.support.servers import serve
from tests.unit.conftest import Captured, capture

THOUGHT = ["1. Decomposition: two parts.", " 2. Sources agree.", " 3. Gaps: none.", " 4. Say 4."]
ANSWER = ["The", " answer", " is", " 4."]
USAGE = Usage(prompt_tokens=10, completion_tokens=5)


@pytest.fixture
async def judge() -> AsyncIterator[ScriptedModel]:
    scripted = ScriptedModel()
    async with serve(create_scripted_app(scripted)) as url:
        scripted.url = url  # type: ignore[attr-defined]
        yield scripted


def script(judge: ScriptedModel, critic: list[str] | None = None) -> None:
    judge.reset(Script(tokens=["unexpected"]))
    judge.system_scripts = [
        (THINKING_SYSTEM[:40], Script(tokens=THOUGHT, prompt_tokens=20)),
        (JUDGE_SYSTEM[:40], Script(tokens=ANSWER, prompt_tokens=30)),
        (CRITIC_SYSTEM[:40], Script(tokens=critic or ["CONFIRMED"], prompt_tokens=40)),
    ]


def merger(judge: ScriptedModel, **settings: object) -> tuple[KafkaBroker, Captured]:
    broker = make_broker("unused:9092", "merger")
    server = InferenceServer(name="j", url=f"{judge.url}/v1", timeout=5)  # type: ignore[attr-defined]
    config = {"inference_servers": [server], "judge_model": "judge", "judge_endpoint": "j"}
    create_app(MergerSettings.model_validate({**config, **settings}), broker)
    return broker, capture(broker, [REPLIES, ANSWERS])


def a_plan(request_id: str, *categories: str, **fields: object) -> PlanCreated:
    tasks = [TaskSpec(id=f"t{i}", task=f"part {i}", category=c) for i, c in enumerate(categories)]
    return PlanCreated(request_id=request_id, tasks=tasks, question="What is 2+2?", **fields)


def expert(request_id: str, task: str, category: str, **fields: object) -> TaskResult:
    values = {
        "output": "CORE_FINDING: 4\nCONFIDENCE: high\nGAPS: none\nDETAILS: two plus two is 4",
        "confidence": "high",
        "model": "small-7b",
        "tier": 1,
        "usage": USAGE,
        **fields,
    }
    return TaskResult(request_id=request_id, task_id=task, category=category, **values)


async def run(
    broker: KafkaBroker, seen: Captured, *events: PlanCreated | TaskResult
) -> tuple[list[ReplyChunk], ReplyDone, AnswerCommitted]:
    async with TestKafkaBroker(broker) as test_broker:
        for event in events:
            topic = PLANS if isinstance(event, PlanCreated) else RESULTS
            await test_broker.publish(event.model_dump(mode="json"), topic)
        [answer] = await seen.wait_for(ANSWERS)
    *chunks, done = seen.events[REPLIES]
    assert isinstance(done, ReplyDone) and isinstance(answer, AnswerCommitted)
    assert all(isinstance(c, ReplyChunk) for c in chunks)
    return chunks, done, answer  # type: ignore[return-value]


def channel(chunks: list[ReplyChunk], name: str) -> str:
    return "".join(c.delta for c in chunks if c.channel == name)


async def test_a_three_task_plan_shows_progress_then_thinks_then_answers(judge) -> None:  # type: ignore[no-untyped-def]
    script(judge)
    broker, seen = merger(judge)
    plan = a_plan("r1", "math", "general", "translation", usage=Usage(prompt_tokens=1000))
    results = [expert("r1", f"t{i}", plan.tasks[i].category) for i in range(3)]
    chunks, done, answer = await run(broker, seen, plan, *results)
    assert [c.seq for c in chunks] == list(range(len(chunks))) and done.seq == len(chunks)
    # Reasoning (progress, thinking) entirely before the answer's first content chunk.
    kinds = [c.channel for c in chunks]
    assert "content" in kinds and "reasoning" not in kinds[kinds.index("content") :]
    reasoning = channel(chunks, "reasoning")
    assert reasoning.startswith("Plan: 3 tasks: math, general, translation\n")
    assert reasoning.count("small-7b (tier 1), confidence high") == 3
    assert "".join(THOUGHT) in reasoning
    assert channel(chunks, "content") == answer.answer == "".join(ANSWER)
    # The trace feeds the synthesis.
    [think, write] = judge.calls
    assert THINKING_SYSTEM[:40] in think["messages"][0]["content"]
    assert "Reasoning so far:\n" + "".join(THOUGHT) in write["messages"][-1]["content"]
    # Usage over every call: the planner's, three experts, thinking, judge.
    assert done.usage == Usage(
        prompt_tokens=1000 + 3 * 10 + 20 + 30, completion_tokens=3 * 5 + len(THOUGHT) + len(ANSWER)
    )
    assert answer.models == [
        "small-7b::math",
        "small-7b::general",
        "small-7b::translation",
        "judge::thinking",
        "judge::judge",
    ]


async def test_a_confident_single_result_is_passed_through_without_thinking(judge) -> None:  # type: ignore[no-untyped-def]
    script(judge)
    broker, seen = merger(judge)
    chunks, _, answer = await run(broker, seen, a_plan("r2", "math"), expert("r2", "t0", "math"))
    assert judge.calls == []
    assert channel(chunks, "content") == answer.answer == "two plus two is 4"


async def test_a_low_single_result_triggers_thinking(judge) -> None:  # type: ignore[no-untyped-def]
    script(judge)
    broker, seen = merger(judge, progress=False)
    low = expert("r3", "t0", "math", confidence="low", output="CONFIDENCE: low\nDETAILS: 5?")
    chunks, _, answer = await run(broker, seen, a_plan("r3", "math"), low)
    assert [THINKING_SYSTEM[:40] in c["messages"][0]["content"] for c in judge.calls] == [
        True,
        False,
    ]
    assert channel(chunks, "reasoning") == "".join(THOUGHT) + "\n"
    assert answer.answer == "".join(ANSWER)


async def test_the_most_confident_result_of_a_task_is_kept(judge) -> None:  # type: ignore[no-untyped-def]
    script(judge)
    broker, seen = merger(judge, progress=False)
    unsure = expert("r4", "t0", "math", confidence="medium", final=False, output="DETAILS: maybe 5")
    sure = expert("r4", "t0", "math", model="big-70b", tier=2, output="DETAILS: surely 4")
    planned = a_plan("r4", "math", usage=Usage(completion_tokens=3))
    _, done, answer = await run(broker, seen, planned, unsure, sure)
    assert answer.answer == "surely 4" and answer.models == ["big-70b::math"]
    # Every model asked is counted, and the planner's call.
    assert done.usage == USAGE + USAGE + Usage(completion_tokens=3)


@pytest.mark.parametrize(
    ("verdict", "final"),
    [
        (["CONFIRMED"], "".join(ANSWER)),
        (["The answer is 4;", " see a doctor."], "The answer is 4; see a doctor."),
    ],
    ids=["confirmed", "corrected"],
)
async def test_the_critic_checks_medical_answers_before_the_client_sees_one(  # type: ignore[no-untyped-def]
    judge, verdict: list[str], final: str
) -> None:
    script(judge, critic=verdict)
    broker, seen = merger(judge)
    plan = a_plan("r5", "medical_consult", "general")
    results = [expert("r5", "t0", "medical_consult"), expert("r5", "t1", "general")]
    chunks, _, answer = await run(broker, seen, plan, *results)
    # One content chunk, the checked answer: never the draft and then its correction.
    content = [c for c in chunks if c.channel == "content"]
    assert [c.delta for c in content] == [final] and answer.answer == final
    assert "Checking the answer" in channel(chunks, "reasoning")
    critic = judge.calls[-1]["messages"]
    assert critic[0]["content"] == CRITIC_SYSTEM and "".join(ANSWER) in critic[-1]["content"]
    assert answer.models[-1] == "judge::critic"


async def test_a_single_legal_answer_is_checked_without_a_synthesis(judge) -> None:  # type: ignore[no-untyped-def]
    script(judge, critic=["Under § 1 BGB, ask a lawyer."])
    broker, seen = merger(judge, progress=False)
    _, _, answer = await run(
        broker, seen, a_plan("r6", "legal_advisor"), expert("r6", "t0", "legal_advisor")
    )
    assert len(judge.calls) == 1 and answer.answer == "Under § 1 BGB, ask a lawyer."
    assert "two plus two is 4" in judge.calls[0]["messages"][-1]["content"]


async def test_progress_can_be_turned_off(judge) -> None:  # type: ignore[no-untyped-def]
    script(judge)
    broker, seen = merger(judge, progress=False, thinking=False)
    plan = a_plan("r7", "math", "general")
    chunks, _, _ = await run(
        broker, seen, plan, expert("r7", "t0", "math"), expert("r7", "t1", "general")
    )
    assert channel(chunks, "reasoning") == "" and len(judge.calls) == 1

"""Judge synthesis in the merger: the judge is the scripted model over real HTTP; the
merger runs on the in-memory broker."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from itertools import pairwise
from pathlib import Path

import pytest
from faststream.kafka import TestKafkaBroker

from bench.scripted_llm import Script, ScriptedModel, create_scripted_app
from contracts import (
    AnswerCommitted,
    GenerationOptions,
    PlanCreated,
    ReplyChunk,
    ReplyDone,
    ReplyError,
    TaskResult,
    TaskSpec,
    Usage,
)
from contracts.inference import InferenceServer, find_server
from contracts.topics import ANSWERS, PLANS, REPLIES, RESULTS
from contracts.wire import make_broker
from deploy.local import StackConfig, free_port
from deploy.local.llm import MODEL_ALIAS, llm_base_url
from deploy.local.services import service_components
from services.merger.app import create_app
from services.merger.settings import MergerSettings
from tests.support.servers import serve
from tests.unit.conftest import Captured, capture

TOKENS = ["The", " answer", " is", " 42", "."]
QUESTION = "What is six times seven, and why?"


@pytest.fixture
async def judge() -> AsyncIterator[tuple[ScriptedModel, str]]:
    scripted = ScriptedModel()
    scripted.reset(Script(tokens=TOKENS, prompt_tokens=100))
    async with serve(create_scripted_app(scripted)) as url:
        yield scripted, url


def judged_by(url: str, **settings: object) -> MergerSettings:
    server = InferenceServer(name="judge-gpu", url=f"{url}/v1", timeout=5)
    return MergerSettings.model_validate(
        {
            "inference_servers": [server],
            "judge_model": "scripted-judge",
            "judge_endpoint": "judge-gpu",
            # Progress lines and the thinking step have tests of their own
            # (test_judgement.py).
            "progress": False,
            "thinking": False,
            **settings,
        }
    )


def merger(settings: MergerSettings) -> tuple[object, Captured]:
    broker = make_broker("unused:9092", "merger")
    create_app(settings, broker)
    return broker, capture(broker, [REPLIES, ANSWERS])


def three_sources(request_id: str, **fields: object) -> list[PlanCreated | TaskResult]:
    """A plan of an expert, a web search and a tool task, and their results (listed in
    an order that is not their priority)."""
    plan = PlanCreated(
        request_id=request_id,
        question=QUESTION,
        cache_key=f"key-{request_id}",
        tasks=[
            TaskSpec(id="e", task="explain the product"),
            TaskSpec(id="w", task="find sources", category="research", worker="research"),
            TaskSpec(id="t", task="6*7", worker="tool", tool="calculate", category="math"),
        ],
        **fields,  # type: ignore[arg-type]
    )
    usage = Usage(prompt_tokens=10, completion_tokens=5)
    results = [
        TaskResult(request_id=request_id, task_id="e", output="Six sevens are 42.", usage=usage),
        TaskResult(
            request_id=request_id,
            task_id="w",
            category="research",
            output="[1] Multiplication — http://m",
        ),
        TaskResult(request_id=request_id, task_id="t", category="math", output="42"),
    ]
    return [plan, *results]


async def publish(test_broker: TestKafkaBroker, events: list[PlanCreated | TaskResult]) -> None:
    for event in events:
        topic = PLANS if isinstance(event, PlanCreated) else RESULTS
        await test_broker.publish(event.model_dump(mode="json"), topic)


async def test_judge_writes_a_multi_result_answer_streaming_each_token(judge) -> None:  # type: ignore[no-untyped-def]
    scripted, url = judge
    scripted.reset(Script(tokens=TOKENS, prompt_tokens=100, token_gap_s=0.05))
    broker, seen = merger(judged_by(url))
    async with TestKafkaBroker(broker) as test_broker:  # type: ignore[arg-type]
        await publish(test_broker, three_sources("r1"))
        replies = await seen.wait_for(REPLIES, len(TOKENS) + 1)
        [answer] = await seen.wait_for(ANSWERS)
    [call] = scripted.calls
    assert call["model"] == "scripted-judge" and call["stream"] is True
    assert call["stream_options"] == {"include_usage": True}
    prompt = call["messages"][-1]["content"]
    # Every source, in source priority (tool > expert > web), then the question last.
    positions = [prompt.index(s) for s in ("42", "Six sevens", "[1] Multiplication", QUESTION)]
    assert positions == sorted(positions) and prompt.endswith(QUESTION)
    assert "verbatim" in call["messages"][0]["content"]
    *chunks, done = replies
    assert all(isinstance(c, ReplyChunk) for c in chunks)
    assert [c.delta for c in chunks] == TOKENS and [c.seq for c in chunks] == [0, 1, 2, 3, 4]
    # One chunk per token as the judge produced it, not one buffered answer at the end.
    gaps = [b.emitted_at - a.emitted_at for a, b in pairwise(chunks)]
    assert all(gap > 0.03 for gap in gaps), gaps
    assert isinstance(done, ReplyDone) and done.seq == 5 and done.finish_reason == "stop"
    # The tasks' usage plus the judge's own (prompt 100, one token per chunk).
    assert done.usage == Usage(prompt_tokens=110, completion_tokens=10)
    assert isinstance(answer, AnswerCommitted)
    assert answer.answer == "The answer is 42." and answer.usage == done.usage
    assert answer.cache_key == "key-r1" and answer.question == QUESTION


async def test_judge_answers_in_the_clients_mode_and_options(judge) -> None:  # type: ignore[no-untyped-def]
    scripted, url = judge
    broker, seen = merger(judged_by(url))
    options = GenerationOptions(max_tokens=64, temperature=0.2, stop=["END"])
    async with TestKafkaBroker(broker) as test_broker:  # type: ignore[arg-type]
        await publish(test_broker, three_sources("r9", mode="concise", options=options))
        await seen.wait_for(ANSWERS)
    [call] = scripted.calls
    assert (call["max_tokens"], call["temperature"], call["stop"]) == (64, 0.2, ["END"])
    assert "top_p" not in call  # unset options are left out, not sent as null
    assert "briefly" in call["messages"][0]["content"]


async def test_judge_usage_is_estimated_when_the_server_reports_none(judge) -> None:  # type: ignore[no-untyped-def]
    scripted, url = judge
    scripted.reset(Script(tokens=["a", "b"], report_usage=False))
    broker, seen = merger(judged_by(url))
    async with TestKafkaBroker(broker) as test_broker:  # type: ignore[arg-type]
        await publish(test_broker, three_sources("r2"))
        [*_, done] = await seen.wait_for(REPLIES, 3)
    sent = scripted.calls[0]["messages"]
    estimated_prompt = sum(len(m["content"]) for m in sent) // 4
    assert isinstance(done, ReplyDone)
    assert done.usage == Usage(prompt_tokens=10 + estimated_prompt, completion_tokens=5 + 2)


async def test_judge_down_before_its_first_token_falls_back_to_concatenation() -> None:
    broker, seen = merger(judged_by(f"http://127.0.0.1:{free_port()}"))
    async with TestKafkaBroker(broker) as test_broker:  # type: ignore[arg-type]
        await publish(test_broker, three_sources("r3"))
        chunk, done = await seen.wait_for(REPLIES, 2)
        [answer] = await seen.wait_for(ANSWERS)
    assert isinstance(chunk, ReplyChunk) and chunk.seq == 0
    assert chunk.delta == "42\n\nSix sevens are 42.\n\n[1] Multiplication — http://m"
    assert isinstance(done, ReplyDone) and done.seq == 1
    assert done.usage == Usage(prompt_tokens=10, completion_tokens=5)
    # A stand-in for the judge's answer is sent, not cached: the next ask gets the judge.
    assert answer.answer == chunk.delta and answer.cache_key is None


async def test_judge_failing_mid_stream_ends_the_stream_with_an_error(judge) -> None:  # type: ignore[no-untyped-def]
    scripted, url = judge
    scripted.reset(Script(tokens=TOKENS, fail_after_tokens=2))
    broker, seen = merger(judged_by(url))
    async with TestKafkaBroker(broker) as test_broker:  # type: ignore[arg-type]
        await publish(test_broker, three_sources("r4"))
        first, second, error = await seen.wait_for(REPLIES, 3)
    assert [first.delta, second.delta] == TOKENS[:2]  # type: ignore[union-attr]
    assert isinstance(error, ReplyError) and error.seq == 2 and error.status == 502
    assert "scripted-judge" in error.message
    assert seen.events[ANSWERS] == []  # a cut-short answer is never committed


@pytest.mark.parametrize(
    "script",
    [Script(tokens=[]), Script(tokens=["\n", " "]), Script(cut_after_tokens=0)],
    ids=["empty", "whitespace", "cut-before-any-token"],
)
async def test_a_judge_that_answers_nothing_falls_back_to_concatenation_uncached(  # type: ignore[no-untyped-def]
    judge, script: Script
) -> None:
    scripted, url = judge
    scripted.reset(script)
    broker, seen = merger(judged_by(url))
    async with TestKafkaBroker(broker) as test_broker:  # type: ignore[arg-type]
        await publish(test_broker, three_sources("r10"))
        chunk, done = await seen.wait_for(REPLIES, 2)
        [answer] = await seen.wait_for(ANSWERS)
    assert len(scripted.calls) == 1
    assert isinstance(chunk, ReplyChunk) and chunk.seq == 0
    assert chunk.delta == "42\n\nSix sevens are 42.\n\n[1] Multiplication — http://m"
    assert isinstance(done, ReplyDone) and done.seq == 1
    assert answer.answer == chunk.delta and answer.cache_key is None


@pytest.mark.parametrize("sends_done", [False, True])
async def test_a_judge_cut_mid_answer_ends_the_stream_with_an_error(  # type: ignore[no-untyped-def]
    judge, sends_done: bool
) -> None:
    scripted, url = judge
    scripted.reset(Script(tokens=TOKENS, cut_after_tokens=2, cut_sends_done=sends_done))
    broker, seen = merger(judged_by(url))
    async with TestKafkaBroker(broker) as test_broker:  # type: ignore[arg-type]
        await publish(test_broker, three_sources("r11"))
        first, second, error = await seen.wait_for(REPLIES, 3)
    assert [first.delta, second.delta] == TOKENS[:2]  # type: ignore[union-attr]
    assert isinstance(error, ReplyError) and error.seq == 2 and error.status == 502
    assert "scripted-judge" in error.message and "finish_reason" in error.message
    assert seen.events[ANSWERS] == []


async def test_past_its_deadline_a_plan_is_concatenated_without_the_judge(judge) -> None:  # type: ignore[no-untyped-def]
    scripted, url = judge
    broker, seen = merger(judged_by(url))
    async with TestKafkaBroker(broker) as test_broker:  # type: ignore[arg-type]
        await publish(test_broker, three_sources("r5", deadline_at=time.time() - 1))
        chunk, _ = await seen.wait_for(REPLIES, 2)
    assert scripted.calls == []
    assert isinstance(chunk, ReplyChunk) and chunk.delta.startswith("42\n\n")


async def test_with_synthesis_off_results_are_concatenated_by_source_priority(judge) -> None:  # type: ignore[no-untyped-def]
    scripted, url = judge
    broker, seen = merger(judged_by(url, synthesis=False))
    async with TestKafkaBroker(broker) as test_broker:  # type: ignore[arg-type]
        await publish(test_broker, three_sources("r6"))
        chunk, done = await seen.wait_for(REPLIES, 2)
    assert scripted.calls == []
    assert isinstance(chunk, ReplyChunk) and chunk.seq == 0
    assert chunk.delta == "42\n\nSix sevens are 42.\n\n[1] Multiplication — http://m"
    assert isinstance(done, ReplyDone) and done.seq == 1


@pytest.mark.parametrize(
    "tasks",
    [
        [TaskSpec(id="t", task="17*23", worker="tool", tool="calculate")],
        [
            TaskSpec(id="t", task="17*23", worker="tool", tool="calculate"),
            TaskSpec(id="h", task="hash", worker="tool", tool="hash_text"),
        ],
        # One usable result: the failed task leaves nothing to merge.
        [
            TaskSpec(id="t", task="17*23", worker="tool", tool="calculate"),
            TaskSpec(id="x", task="x"),
        ],
    ],
    ids=["one tool", "tools only", "one of two succeeded"],
)
async def test_tool_values_pass_through_exactly_without_the_judge(judge, tasks) -> None:  # type: ignore[no-untyped-def]
    scripted, url = judge
    broker, seen = merger(judged_by(url))
    outputs = {"t": "391", "h": "ba7816bf"}
    async with TestKafkaBroker(broker) as test_broker:  # type: ignore[arg-type]
        await test_broker.publish(
            PlanCreated(request_id="r7", question="17*23?", tasks=tasks).model_dump(mode="json"),
            PLANS,
        )
        for spec in tasks:
            done = TaskResult(
                request_id="r7",
                task_id=spec.id,
                output=outputs.get(spec.id, ""),
                error=None if spec.id in outputs else "model down",
            )
            await test_broker.publish(done.model_dump(mode="json"), RESULTS)
        chunk, _ = await seen.wait_for(REPLIES, 2)
        [answer] = await seen.wait_for(ANSWERS)
    assert scripted.calls == []
    expected = "\n\n".join(outputs[s.id] for s in tasks if s.id in outputs)
    assert isinstance(chunk, ReplyChunk) and chunk.delta == expected == answer.answer


async def test_a_streamed_single_expert_is_closed_without_the_judge(judge) -> None:  # type: ignore[no-untyped-def]
    scripted, url = judge
    broker, seen = merger(judged_by(url))
    plan = PlanCreated(
        request_id="r8", question="hi", tasks=[TaskSpec(id="e", task="hi")], streaming_task_id="e"
    )
    streamed = TaskResult(request_id="r8", task_id="e", output="hello", streamed_chunks=1)
    async with TestKafkaBroker(broker) as test_broker:  # type: ignore[arg-type]
        await publish(test_broker, [plan, streamed])
        [done] = await seen.wait_for(REPLIES)
        [answer] = await seen.wait_for(ANSWERS)
    assert scripted.calls == []
    assert isinstance(done, ReplyDone) and done.seq == 1 and answer.answer == "hello"


async def test_a_judge_streaming_does_not_hold_up_other_requests(judge) -> None:  # type: ignore[no-untyped-def]
    scripted, url = judge
    scripted.reset(Script(tokens=TOKENS, token_gap_s=0.3))  # about 1.2 s of judging
    broker, seen = merger(judged_by(url))
    plan = PlanCreated(
        request_id="quick", tasks=[TaskSpec(id="e", task="hi")], streaming_task_id="e"
    )
    streamed = TaskResult(request_id="quick", task_id="e", output="hello", streamed_chunks=1)
    async with TestKafkaBroker(broker) as test_broker:  # type: ignore[arg-type]
        await publish(test_broker, three_sources("slow"))
        await publish(test_broker, [plan, streamed])
        await seen.wait_for(ANSWERS, 2)
    order = [(e.request_id, e.kind) for e in seen.events[REPLIES]]
    quick_done = order.index(("quick", "reply.done"))
    assert order.index(("slow", "reply.done")) > quick_done
    assert [a.request_id for a in seen.events[ANSWERS]] == ["quick", "slow"]


def test_judge_settings_use_the_reference_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFERENCE_SERVERS", '[{"name": "gpu1", "url": "http://gpu1:8000/v1"}]')
    monkeypatch.setenv("JUDGE_MODEL", "qwen-judge")
    monkeypatch.setenv("JUDGE_ENDPOINT", "gpu1")
    monkeypatch.setenv("MERGER_SYNTHESIS", "false")
    settings = MergerSettings()
    assert settings.inference_servers[0].url == "http://gpu1:8000/v1"
    assert (settings.judge_model, settings.judge_endpoint) == ("qwen-judge", "gpu1")
    assert settings.synthesis is False


def test_an_unknown_judge_endpoint_fails_at_start_up() -> None:
    with pytest.raises(LookupError, match="nowhere"):
        create_app(MergerSettings(judge_endpoint="nowhere"), make_broker("unused:9092", "m"))


def test_the_local_stack_points_the_judge_at_its_model_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = StackConfig(llm_port=18080, log_dir=Path("unused"))
    [component] = [c for c in service_components(config) if c.name == "merger"]
    for name, value in component.env.items():
        monkeypatch.setenv(name, value)
    settings = MergerSettings()
    server = find_server(settings.inference_servers, settings.judge_endpoint)
    assert server.url == llm_base_url(18080) and settings.judge_model == MODEL_ALIAS
    assert settings.synthesis

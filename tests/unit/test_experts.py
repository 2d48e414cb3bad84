import time
from collections.abc import AsyncIterator

import pytest
from faststream.kafka import TestKafkaBroker

from bench.scripted_llm import Script, ScriptedModel, create_scripted_app
from contracts import ChatMessage, GenerationOptions, ReplyChunk, TaskAssigned, TaskResult, TaskSpec
from contracts.events import DeadLetter
from contracts.inference import ExpertModel, InferenceServer
from contracts.topics import DLQ, REPLIES, RESULTS, task_topic
from contracts.wire import make_broker
from deploy.local import free_port
from services.experts.app import create_app
from services.experts.settings import ExpertSettings
from tests.support.servers import serve
from tests.unit.conftest import capture


@pytest.fixture
async def model() -> AsyncIterator[tuple[ScriptedModel, str]]:
    scripted = ScriptedModel()
    async with serve(create_scripted_app(scripted)) as url:
        yield scripted, url


def settings_for(url: str) -> ExpertSettings:
    return ExpertSettings(
        inference_servers=[InferenceServer(name="gpu", url=f"{url}/v1", timeout=5)],
        expert_models={"general": [ExpertModel(model="scripted-general", endpoint="gpu")]},
        scores=False,
    )


def task(stream_reply: bool = True, **fields: object) -> dict[str, object]:
    assigned = TaskAssigned(
        request_id="r1",
        tenant="acme",
        task=TaskSpec(id="r1:1", task="Explain Kafka", category="math"),
        messages=[
            ChatMessage(role="system", content="Be kind."),
            ChatMessage(role="user", content="Explain Kafka"),
        ],
        options=GenerationOptions(temperature=0.2, max_tokens=50),
        stream_reply=stream_reply,
        **fields,  # type: ignore[arg-type]
    )
    return assigned.model_dump(mode="json")


async def run_task(  # type: ignore[no-untyped-def]
    url: str, body: dict[str, object], replies: int = 0, settings: ExpertSettings | None = None
):
    broker = make_broker("unused:9092", "experts")
    create_app(settings or settings_for(url), broker)
    seen = capture(broker, [REPLIES, RESULTS])
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(body, task_topic("expert"))
        while not any(getattr(r, "final", False) for r in await seen.wait_for(RESULTS)):
            await seen.wait_for(RESULTS, len(seen.events[RESULTS]) + 1)
    *_, result = seen.events[RESULTS]
    assert isinstance(result, TaskResult) and result.final
    ATTEMPTS[:] = [r for r in seen.events[RESULTS] if isinstance(r, TaskResult)]
    return result, seen.events[REPLIES]


ATTEMPTS: list[TaskResult] = []
"""Every result of the last task run_task ran (one per model asked), in arrival order."""


async def test_expert_streams_each_token_to_replies_then_reports(model) -> None:  # type: ignore[no-untyped-def]
    scripted, url = model
    result, chunks = await run_task(url, task())
    assert [c.delta for c in chunks] == ["Hello", " from", " the", " model", "."]
    assert [c.seq for c in chunks] == [0, 1, 2, 3, 4]
    assert all(isinstance(c, ReplyChunk) and c.tenant == "acme" for c in chunks)
    assert isinstance(result, TaskResult)
    assert result.output == "Hello from the model." and result.error is None
    assert result.streamed_chunks == 5 and result.usage.completion_tokens == 5
    assert result.usage.prompt_tokens == 7 and result.model == "scripted-general"
    # The category had no model of its own, so the general expert answered it.
    [call] = scripted.calls
    assert call["model"] == "scripted-general" and call["stream"] is True
    assert call["temperature"] == 0.2 and call["max_tokens"] == 50
    assert call["messages"][0]["role"] == "system" and "Be kind." in call["messages"][0]["content"]
    assert call["messages"][-1] == {"role": "user", "content": "Explain Kafka"}


async def test_unstreamed_task_reports_in_the_reference_format(model) -> None:  # type: ignore[no-untyped-def]
    scripted, url = model
    scripted.reset(Script(tokens=["CORE_FINDING: x\n", "CONFIDENCE: ", "Low", "\nGAPS: y"]))
    result, chunks = await run_task(url, task(stream_reply=False))
    assert chunks == [] and result.streamed_chunks == 0
    assert result.output.startswith("CORE_FINDING: x") and result.confidence == "low"
    system = scripted.calls[0]["messages"][0]["content"]
    assert "CONFIDENCE: <high|medium|low>" in system


async def test_streamed_answer_without_a_tag_has_medium_confidence(model) -> None:  # type: ignore[no-untyped-def]
    scripted, url = model
    result, _ = await run_task(url, task())
    assert result.confidence == "medium"
    assert "CONFIDENCE" not in scripted.calls[0]["messages"][0]["content"]


async def test_model_error_becomes_a_failed_result(model) -> None:  # type: ignore[no-untyped-def]
    scripted, url = model
    scripted.reset(Script(fail_status=500))
    result, chunks = await run_task(url, task())
    assert chunks == [] and result.error is not None and "scripted-general" in result.error


async def test_unreachable_model_server_becomes_a_failed_result() -> None:
    result, _ = await run_task(f"http://127.0.0.1:{free_port()}", task())
    assert result.error is not None and "unreachable" in result.error
    assert "ClientConnectorError" in result.error  # the cause, named


async def test_usage_is_estimated_when_the_server_reports_none(model) -> None:  # type: ignore[no-untyped-def]
    scripted, url = model
    scripted.reset(Script(tokens=["a", "b", "c"], report_usage=False))
    result, _ = await run_task(url, task())
    assert result.usage.completion_tokens == 3 and result.usage.prompt_tokens >= 1
    # Estimated over what the model was sent, the expert's system prompt included.
    sent = scripted.calls[0]["messages"]
    assert result.usage.prompt_tokens == sum(len(m["content"]) for m in sent) // 4


async def test_expired_task_is_not_sent_to_the_model(model) -> None:  # type: ignore[no-untyped-def]
    scripted, url = model
    result, _ = await run_task(url, task(deadline_at=time.time() - 1))
    assert result.error is not None and "deadline" in result.error
    assert scripted.calls == []


@pytest.mark.parametrize("stream_reply", [True, False])
@pytest.mark.parametrize("tokens", [[], ["\n", "  "]])
async def test_an_empty_answer_is_a_failed_result_with_low_confidence(  # type: ignore[no-untyped-def]
    model, stream_reply: bool, tokens: list[str]
) -> None:
    scripted, url = model
    scripted.reset(Script(tokens=tokens))
    result, chunks = await run_task(url, task(stream_reply=stream_reply))
    assert chunks == [] and result.streamed_chunks == 0
    assert result.error is not None and "'scripted-general' answered nothing" in result.error
    assert result.confidence == "low" and result.output.strip() == ""


@pytest.mark.parametrize("sends_done", [False, True])
async def test_an_answer_cut_by_the_server_is_a_failed_result(model, sends_done: bool) -> None:  # type: ignore[no-untyped-def]
    scripted, url = model
    scripted.reset(Script(cut_after_tokens=2, cut_sends_done=sends_done))
    result, chunks = await run_task(url, task())
    assert [c.delta for c in chunks] == ["Hello", " from"] and result.streamed_chunks == 2
    assert result.error is not None and "without a finish_reason" in result.error
    assert "scripted-general" in result.error and result.confidence == "low"


@pytest.fixture
async def stand_in() -> AsyncIterator[tuple[ScriptedModel, ScriptedModel, ExpertSettings]]:
    """Two models for `general` on two servers, in EXPERT_MODELS order."""
    first, second = ScriptedModel(), ScriptedModel()
    second.reset(Script(tokens=["Stand", "-in", "."], prompt_tokens=5))
    async with serve(create_scripted_app(first)) as a, serve(create_scripted_app(second)) as b:
        settings = ExpertSettings(
            inference_servers=[
                InferenceServer(name="a", url=f"{a}/v1", timeout=5),
                InferenceServer(name="b", url=f"{b}/v1", timeout=5),
            ],
            expert_models={
                "general": [
                    ExpertModel(model="first", endpoint="a"),
                    ExpertModel(model="second", endpoint="b"),
                ]
            },
            scores=False,
        )
        yield first, second, settings


@pytest.mark.parametrize(
    "failure",
    [Script(tokens=[]), Script(fail_status=503), Script(cut_after_tokens=0)],
    ids=["empty", "refused", "cut-before-any-token"],
)
async def test_the_categorys_next_model_stands_in_for_one_that_gave_nothing(  # type: ignore[no-untyped-def]
    stand_in, failure: Script
) -> None:
    first, second, settings = stand_in
    first.reset(failure)
    result, chunks = await run_task("unused", task(), settings=settings)
    assert [c.delta for c in chunks] == ["Stand", "-in", "."]
    assert [c.seq for c in chunks] == [0, 1, 2]
    assert result.error is None and result.model == "second" and result.output == "Stand-in."
    assert len(first.calls) == 1 and len(second.calls) == 1
    # Every attempt is its own result, for the trail (and the merger's usage sum).
    assert [(r.model, r.final, r.error is None) for r in ATTEMPTS] == [
        ("first", False, False),
        ("second", True, True),
    ]
    assert result.usage.prompt_tokens == 5 and result.usage.completion_tokens == 3


async def test_unstreamed_task_asks_every_tier_1_model_and_reports_each(stand_in) -> None:  # type: ignore[no-untyped-def]
    first, second, settings = stand_in
    first.reset(Script(cut_after_tokens=2))
    result, chunks = await run_task("unused", task(stream_reply=False), settings=settings)
    assert chunks == [] and result is ATTEMPTS[-1]
    assert len(first.calls) == 1 and len(second.calls) == 1
    by_model = {r.model: r for r in ATTEMPTS}
    assert sorted(by_model) == ["first", "second"] and [r.final for r in ATTEMPTS] == [False, True]
    assert by_model["first"].error is not None and by_model["first"].confidence == "low"
    assert by_model["second"].error is None and by_model["second"].output == "Stand-in."
    assert {r.tier for r in ATTEMPTS} == {1}


async def test_no_stand_in_once_tokens_reached_the_client(stand_in) -> None:  # type: ignore[no-untyped-def]
    first, second, settings = stand_in
    first.reset(Script(cut_after_tokens=2))
    result, chunks = await run_task("unused", task(), settings=settings)
    assert [c.delta for c in chunks] == ["Hello", " from"] and result.streamed_chunks == 2
    assert result.error is not None and result.model == "first"
    assert second.calls == []


async def test_when_every_model_gives_nothing_the_last_failure_is_reported(stand_in) -> None:  # type: ignore[no-untyped-def]
    first, second, settings = stand_in
    first.reset(Script(tokens=[]))
    second.reset(Script(tokens=[]))
    result, chunks = await run_task("unused", task(), settings=settings)
    assert chunks == [] and result.error is not None and "'second' answered nothing" in result.error
    assert result.confidence == "low"
    assert len(first.calls) == 1 and len(second.calls) == 1


def most_at_once(spans: list[tuple[str, float, float]]) -> int:
    """The most calls that were running at the same moment."""
    edges = sorted([(start, 1) for _, start, _ in spans] + [(end, -1) for _, _, end in spans])
    running = most = 0
    for _, step in edges:
        running += step
        most = max(most, running)
    return most


async def test_a_worker_answers_at_most_its_concurrency_at_once(model) -> None:  # type: ignore[no-untyped-def]
    scripted, url = model
    scripted.reset(Script(first_token_delay_s=0.15))
    settings = settings_for(url).model_copy(update={"concurrency": 2})
    broker = make_broker("unused:9092", "experts")
    create_app(settings, broker)
    seen = capture(broker, [RESULTS])
    async with TestKafkaBroker(broker) as test_broker:
        for index in range(5):
            body = {**task(), "request_id": f"r{index}"}
            await test_broker.publish(body, task_topic("expert"), key=f"r{index}".encode())
        await seen.wait_for(RESULTS, 5)
    assert sorted(r.request_id for r in seen.events[RESULTS]) == [f"r{i}" for i in range(5)]
    assert most_at_once(scripted.spans) == 2


async def test_an_answer_that_fails_is_dead_lettered_with_its_task(  # type: ignore[no-untyped-def]
    model, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_: object, **__: object) -> None:
        raise RuntimeError("answering broke")

    monkeypatch.setattr("services.experts.app.answer_task", broken)
    _, url = model
    broker = make_broker("unused:9092", "experts")
    create_app(settings_for(url), broker)
    seen = capture(broker, [DLQ])
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(task(), task_topic("expert"))
        [letter] = await seen.wait_for(DLQ)
    assert isinstance(letter, DeadLetter)
    assert letter.request_id == "r1" and letter.consumer == "experts"
    assert letter.original_topic == task_topic("expert")
    assert "RuntimeError: answering broke" in letter.error

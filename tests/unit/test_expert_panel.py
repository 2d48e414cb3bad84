"""The expert layer: tiers and escalation, score order and skipping, the answer format,
history, the output cap and modes, through the worker's topics (in-memory broker) and a
scripted model server over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from faststream.kafka import TestKafkaBroker

from bench.scripted_llm import Script, ScriptedModel, create_scripted_app
from contracts import ChatMessage, FeedbackGiven, TaskAssigned, TaskResult, TaskSpec
from contracts.expert_report import confidence_of, parse_report
from contracts.inference import ExpertModel, InferenceServer
from contracts.topics import FEEDBACK, REPLIES, RESULTS, task_topic, topic_configs
from contracts.wire import make_broker
from services.experts.answer import cap_output
from services.experts.app import create_app
from services.experts.models import tier_of
from services.experts.scores import ScoreBook
from services.experts.settings import ExpertSettings
from tests.support.servers import serve
from tests.unit.conftest import capture


def report(confidence: str, finding: str = "x") -> list[str]:
    return [
        f"CORE_FINDING: {finding}\n",
        f"CONFIDENCE: {confidence}\n",
        "GAPS: none\n",
        "DETAILS: d",
    ]


@pytest.fixture
async def server() -> AsyncIterator[tuple[ScriptedModel, str]]:
    scripted = ScriptedModel()
    async with serve(create_scripted_app(scripted)) as url:
        yield scripted, url


def panel_settings(url: str, *models: ExpertModel, **fields: object) -> ExpertSettings:
    return ExpertSettings(
        inference_servers=[InferenceServer(name="gpu", url=f"{url}/v1", timeout=5)],
        expert_models={"math": list(models)},
        scores_rebuild_wait_s=0,
        **fields,  # type: ignore[arg-type]
    )


def math_task(
    request_id: str = "r1", stream_reply: bool = False, text: str = "What is 2+2?", **fields: object
) -> TaskAssigned:
    return TaskAssigned(
        request_id=request_id,
        task=TaskSpec(id=f"{request_id}:1", task=text, category="math"),
        messages=fields.pop("messages", [ChatMessage(role="user", content=text)]),
        stream_reply=stream_reply,
        **fields,
    )


async def run(
    settings: ExpertSettings,
    *tasks: TaskAssigned,
    feedback: list[FeedbackGiven] | None = None,
) -> list[list[TaskResult]]:
    """Each task's results, in arrival order, once its final result is in."""
    broker = make_broker("unused:9092", "experts")
    create_app(settings, broker)
    seen = capture(broker, [REPLIES, RESULTS])
    found: list[list[TaskResult]] = []
    async with TestKafkaBroker(broker) as test_broker:
        for rating in feedback or []:
            await test_broker.publish(rating.model_dump(mode="json"), FEEDBACK)
        for assigned in tasks:
            await test_broker.publish(assigned.model_dump(mode="json"), task_topic("expert"))
            while True:
                events = seen.events[RESULTS]
                mine = [
                    e
                    for e in events
                    if isinstance(e, TaskResult) and e.request_id == assigned.request_id
                ]
                if mine and mine[-1].final:
                    break
                await seen.wait_for(RESULTS, len(events) + 1)
            found.append(mine)
    return found


SMALL_A = ExpertModel(model="small-7b", endpoint="gpu")
SMALL_B = ExpertModel(model="small-8b", endpoint="gpu")
BIG = ExpertModel(model="big-70b", endpoint="gpu")


@pytest.mark.parametrize(
    ("ref", "tier"),
    [
        (ExpertModel(model="llama3.1:8b", endpoint="e"), 1),
        (ExpertModel(model="qwen2.5-72b-instruct", endpoint="e"), 2),
        (ExpertModel(model="phi-3.5-mini-20B", endpoint="e"), 1),
        (ExpertModel(model="mixtral-8x7b", endpoint="e"), 2),
        (ExpertModel(model="smollm2", endpoint="e"), 1),
        (ExpertModel(model="qwen2.5-72b", endpoint="e", tier=1), 1),
    ],
)
def test_tier_is_configured_or_read_from_the_parameter_count(ref: ExpertModel, tier: int) -> None:
    assert tier_of(ref) == tier


def test_confidence_is_read_robustly() -> None:
    assert confidence_of("CORE_FINDING: 4\nCONFIDENCE: HIGH\nDETAILS: 2+2", failed=False) == "high"
    assert confidence_of("**Confidence:** low\n", failed=False) == "low"
    assert confidence_of("Four, I think.", failed=False) == "medium"
    assert confidence_of("CONFIDENCE: high", failed=True) == "low"
    assert confidence_of("  ", failed=False) == "low"
    parsed = parse_report("CORE_FINDING: four\nCONFIDENCE: medium\nGAPS: none\nDETAILS: 2+2=4")
    assert (parsed.core_finding, parsed.gaps, parsed.answer) == ("four", "none", "2+2=4")


def test_output_is_capped_at_a_sentence_boundary() -> None:
    text = "First sentence here. " * 10 + "A sentence that runs over the cap."
    capped, was = cap_output(text, 100)
    assert was == len(text) and len(capped) <= 100 and capped.endswith(".")
    assert cap_output("short.", 100) == ("short.", None)


async def test_tier_2_is_not_asked_when_a_tier_1_answer_is_high(server) -> None:  # type: ignore[no-untyped-def]
    scripted, url = server
    slow = Script(tokens=report("medium"), first_token_delay_s=0.3)
    scripted.reset(**{"small-7b": Script(tokens=report("high")), "small-8b": slow})
    [results] = await run(panel_settings(url, SMALL_A, SMALL_B, BIG), math_task())
    assert sorted(scripted.models_called()) == ["small-7b", "small-8b"]
    assert [(r.model, r.tier, r.confidence, r.final) for r in results] == [
        ("small-7b", 1, "high", False),
        ("small-8b", 1, "medium", True),
    ]


async def test_tier_2_answers_when_no_tier_1_answer_is_high_after_tier_1_ran_at_once(  # type: ignore[no-untyped-def]
    server,
) -> None:
    scripted, url = server
    unsure = Script(tokens=report("medium"), first_token_delay_s=0.2)
    scripted.reset(
        **{"small-7b": unsure, "small-8b": unsure, "big-70b": Script(tokens=report("high"))}
    )
    [results] = await run(panel_settings(url, BIG, SMALL_A, SMALL_B), math_task())
    assert sorted(scripted.models_called()[:2]) == ["small-7b", "small-8b"]
    assert scripted.models_called()[2] == "big-70b"
    assert [(r.tier, r.final) for r in results] == [(1, False), (1, False), (2, True)]
    spans = {name: (start, end) for name, start, end in scripted.spans}
    # Tier 1 concurrently: each call started before the other ended; tier 2 after both.
    (a_start, a_end), (b_start, b_end) = spans["small-7b"], spans["small-8b"]
    assert a_start < b_end and b_start < a_end
    assert spans["big-70b"][0] >= max(a_end, b_end)
    assert all(
        "CONFIDENCE: <high|medium|low>" in c["messages"][0]["content"] for c in scripted.calls
    )


async def test_a_streamed_task_in_a_two_tier_category_is_not_streamed(server) -> None:  # type: ignore[no-untyped-def]
    scripted, url = server
    scripted.reset(
        **{"small-7b": Script(tokens=report("low")), "big-70b": Script(tokens=report("high"))}
    )
    [results] = await run(panel_settings(url, SMALL_A, BIG), math_task(stream_reply=True))
    assert [r.model for r in results] == ["small-7b", "big-70b"]
    assert all(r.streamed_chunks == 0 for r in results)


def rating(stars: int, request_id: str, *models: str) -> FeedbackGiven:
    return FeedbackGiven.from_stars(
        stars, request_id=request_id, response_id=f"chatcmpl-{request_id}", models=list(models)
    )


async def test_models_are_tried_in_score_order_and_a_failing_one_is_skipped(server) -> None:  # type: ignore[no-untyped-def]
    scripted, url = server
    settings = panel_settings(url, SMALL_A, SMALL_B, ExpertModel(model="third", endpoint="gpu"))
    # small-7b: 5 ratings, all bad (score 1/7): skipped. third: 5 good (6/7): first.
    ratings = [rating(1, f"bad{i}", "small-7b::math") for i in range(5)]
    ratings += [rating(5, f"good{i}", "third::math") for i in range(5)]
    ratings += [rating(3, "neutral", "third::math")]  # not counted
    [streamed] = await run(settings, math_task(stream_reply=True), feedback=ratings)
    assert scripted.models_called() == ["third"] and streamed[-1].model == "third"


async def test_the_categorys_only_model_answers_despite_its_score_and_says_so(server) -> None:  # type: ignore[no-untyped-def]
    scripted, url = server
    ratings = [rating(2, f"bad{i}", "small-7b::math") for i in range(6)]
    [results] = await run(panel_settings(url, SMALL_A), math_task(), feedback=ratings)
    assert scripted.models_called() == ["small-7b"]
    assert results[-1].note is not None and "only model" in results[-1].note


async def test_history_is_injected_and_bounded(server) -> None:  # type: ignore[no-untyped-def]
    scripted, url = server
    turns = [
        ChatMessage(role="user" if i % 2 == 0 else "assistant", content=f"turn {i} " + "x" * 300)
        for i in range(12)
    ]
    question = ChatMessage(role="user", content="And now?")
    await run(panel_settings(url, SMALL_A), math_task(messages=[*turns, question], text="And now?"))
    sent = scripted.calls[0]["messages"]
    history = sent[1:-1]
    assert [m["content"].split()[1] for m in history] == [str(i) for i in range(4, 12)]
    assert sum(len(m["content"]) for m in history) <= 3000
    assert sent[-1] == {"role": "user", "content": "And now?"}


async def test_long_answers_are_capped_and_the_cap_recorded(server) -> None:  # type: ignore[no-untyped-def]
    scripted, url = server
    scripted.reset(Script(tokens=["CONFIDENCE: high\nDETAILS: "] + ["A sentence. "] * 100))
    [results] = await run(panel_settings(url, SMALL_A, max_output_chars=300), math_task())
    result = results[-1]
    assert len(result.output) <= 300 and result.output.endswith(".")
    assert result.capped_from is not None and result.capped_from > 300


@pytest.mark.parametrize(
    ("mode", "phrase"), [("code", "code only"), ("concise", "at most 120 words"), ("default", None)]
)
async def test_modes_shape_the_prompt(server, mode: str, phrase: str | None) -> None:  # type: ignore[no-untyped-def]
    scripted, url = server
    await run(panel_settings(url, SMALL_A), math_task(mode=mode))
    system = scripted.calls[0]["messages"][0]["content"]
    assert "verify" in system  # the math role
    if phrase is None:
        assert "Mode:" not in system
    else:
        assert phrase in system


def test_older_feedback_events_still_read_and_count_for_no_model() -> None:
    older = FeedbackGiven.model_validate(
        {"kind": "feedback.given", "request_id": "r", "response_id": "chatcmpl-r", "rating": -1}
    )
    assert (older.rating, older.stars, older.models) == (-1, None, [])
    book = ScoreBook()
    book.apply(older)
    assert book.tally("small-7b", "math").total == 0


def test_ratings_count_for_each_named_model_of_the_answer() -> None:
    book = ScoreBook()
    for stars in (5, 4, 3, 2, 1, 1):
        book.apply(rating(stars, f"r{stars}", "small-7b::math", "judge::judge"))
    tally = book.tally("small-7b", "math")
    assert (tally.positive, tally.total) == (2, 5)  # 3 stars is neutral: not counted
    assert tally.score == pytest.approx(3 / 7)
    assert book.tally("small-7b", "general").total == 0  # scores are per category


def test_the_scores_source_is_kept_for_good() -> None:
    assert topic_configs(FEEDBACK) == {"cleanup.policy": "delete", "retention.ms": "-1"}

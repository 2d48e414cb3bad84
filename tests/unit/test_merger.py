import time

import pytest
from faststream.kafka import TestKafkaBroker

from contracts import (
    AnswerCommitted,
    CachedAnswer,
    PlanCreated,
    ReplyChunk,
    ReplyDone,
    ReplyError,
    TaskResult,
    TaskSpec,
    Usage,
)
from contracts.topics import ANSWERS, PLANS, REPLIES, RESULTS, task_topic
from contracts.wire import make_broker
from services.merger.app import create_app
from services.merger.fan_in import FanIn
from services.merger.settings import MergerSettings
from tests.unit.conftest import capture


def plan(request_id: str, *tasks: TaskSpec, streaming: str | None = None) -> PlanCreated:
    return PlanCreated(
        request_id=request_id,
        tasks=list(tasks),
        streaming_task_id=streaming,
        question="q?",
        cache_key=f"key-{request_id}",
    )


def result(request_id: str, task_id: str, **fields: object) -> TaskResult:
    return TaskResult.model_validate({"request_id": request_id, "task_id": task_id, **fields})


def merger_broker(**settings: object):  # type: ignore[no-untyped-def]
    broker = make_broker("unused:9092", "merger")
    # Progress lines and the thinking step have tests of their own (test_judgement.py).
    settings = {"progress": False, "thinking": False, **settings}
    create_app(MergerSettings.model_validate(settings), broker)
    return broker, capture(broker, [REPLIES, ANSWERS, task_topic("research")])


async def test_streamed_plan_ends_with_done_after_the_streamed_chunks() -> None:
    broker, seen = merger_broker()
    usage = Usage(prompt_tokens=5, completion_tokens=3)
    async with TestKafkaBroker(broker) as test_broker:
        # The result may overtake the plan: fan-in must not care about the order.
        await test_broker.publish(
            result(
                "r1", "t1", output="abc", streamed_chunks=3, usage=usage, finish_reason="length"
            ).model_dump(mode="json"),
            RESULTS,
        )
        await test_broker.publish(
            plan("r1", TaskSpec(id="t1", task="q?"), streaming="t1").model_dump(mode="json"), PLANS
        )
        [done] = await seen.wait_for(REPLIES)
        [answer] = await seen.wait_for(ANSWERS)
    assert isinstance(done, ReplyDone)
    assert done.seq == 3 and done.usage == usage and done.finish_reason == "length"
    assert isinstance(answer, AnswerCommitted)
    assert answer.answer == "abc" and answer.response_id == "chatcmpl-r1"
    assert answer.cache_key is None  # cut short by the length limit: not worth serving again


async def test_a_whole_answer_keeps_the_plans_cache_key() -> None:
    broker, seen = merger_broker()
    async with TestKafkaBroker(broker) as test_broker:
        spec = TaskSpec(id="t1", task="q?")
        await test_broker.publish(plan("r6", spec, streaming="t1").model_dump(mode="json"), PLANS)
        whole = result("r6", "t1", output="abc", streamed_chunks=1, finish_reason="stop")
        await test_broker.publish(whole.model_dump(mode="json"), RESULTS)
        [answer] = await seen.wait_for(ANSWERS)
    assert answer.cache_key == "key-r6"


async def test_a_cache_hit_plan_is_not_gathered_or_answered_again() -> None:
    broker, seen = merger_broker()
    hit = PlanCreated(request_id="r7", cache_hit=CachedAnswer(response_id="c", answer="a"))
    spec = TaskSpec(id="t1", task="q?")
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(hit.model_dump(mode="json"), PLANS)
        # A later request proves the cache-hit plan was consumed without any output.
        await test_broker.publish(plan("r8", spec, streaming="t1").model_dump(mode="json"), PLANS)
        done = result("r8", "t1", output="b", streamed_chunks=1)
        await test_broker.publish(done.model_dump(mode="json"), RESULTS)
        await seen.wait_for(ANSWERS)
    assert [e.request_id for e in seen.events[REPLIES]] == ["r8"]
    assert [e.request_id for e in seen.events[ANSWERS]] == ["r8"]


async def test_without_synthesis_an_unstreamed_plan_is_combined_by_source_priority() -> None:
    # With synthesis on, a judge writes this answer (tests/unit/test_merger_synthesis.py).
    broker, seen = merger_broker(synthesis=False)
    tasks = (TaskSpec(id="e", task="x"), TaskSpec(id="t", task="y", worker="tool", tool="calc"))
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(plan("r2", *tasks).model_dump(mode="json"), PLANS)
        await test_broker.publish(
            result("r2", "e", output="expert says").model_dump(mode="json"), RESULTS
        )
        assert seen.events[REPLIES] == []  # still waiting for the tool
        await test_broker.publish(result("r2", "t", output="42").model_dump(mode="json"), RESULTS)
        chunk, done = await seen.wait_for(REPLIES, 2)
    assert isinstance(chunk, ReplyChunk) and chunk.seq == 0
    assert chunk.delta == "42\n\nexpert says"
    assert isinstance(done, ReplyDone) and done.seq == 1


async def test_failed_streamed_task_becomes_reply_error_after_its_chunks() -> None:
    broker, seen = merger_broker()
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(
            plan("r3", TaskSpec(id="t1", task="q"), streaming="t1").model_dump(mode="json"), PLANS
        )
        await test_broker.publish(
            result("r3", "t1", error="model down", streamed_chunks=2).model_dump(mode="json"),
            RESULTS,
        )
        [error] = await seen.wait_for(REPLIES)
    assert isinstance(error, ReplyError)
    assert error.seq == 2 and error.status == 502 and "model down" in error.message
    assert seen.events[ANSWERS] == []


async def test_a_failure_after_the_requests_deadline_is_a_timeout() -> None:
    broker, seen = merger_broker()
    late = plan("r9", TaskSpec(id="t1", task="q"), streaming="t1")
    late = late.model_copy(update={"deadline_at": time.time() - 1})
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(late.model_dump(mode="json"), PLANS)
        expired = result("r9", "t1", error="deadline passed before the task was started")
        await test_broker.publish(expired.model_dump(mode="json"), RESULTS)
        [error] = await seen.wait_for(REPLIES)
    assert isinstance(error, ReplyError)
    assert (error.status, error.code) == (504, "timeout") and "deadline passed" in error.message


def test_fan_in_forgets_requests_whose_events_stop() -> None:
    fan_in = FanIn(orphan_ttl_s=0.001)
    assert fan_in.add(plan("old", TaskSpec(id="a", task="q"))) is None
    assert len(fan_in) == 1
    import time

    time.sleep(0.01)
    fan_in._next_sweep = 0.0
    assert fan_in.add(plan("new", TaskSpec(id="b", task="q"))) is None
    assert len(fan_in) == 1


async def test_low_confidence_expert_triggers_a_research_follow_up() -> None:
    broker, seen = merger_broker(searxng_url="http://searx.local")
    async with TestKafkaBroker(broker) as test_broker:
        spec = TaskSpec(id="t1", task="q?")
        await test_broker.publish(plan("r4", spec, streaming="t1").model_dump(mode="json"), PLANS)
        unsure = result("r4", "t1", output="maybe", confidence="low", streamed_chunks=1)
        await test_broker.publish(unsure.model_dump(mode="json"), RESULTS)
        [search] = await seen.wait_for(task_topic("research"))
        assert seen.events[REPLIES] == []  # the answer waits for the sources
        assert search.task.worker == "research" and search.task.search_query == "q?"
        cited = result("r4", search.task.id, output="[1] Source — http://s", category="research")
        await test_broker.publish(cited.model_dump(mode="json"), RESULTS)
        chunk, done = await seen.wait_for(REPLIES, 2)
        [answer] = await seen.wait_for(ANSWERS)
    assert isinstance(chunk, ReplyChunk) and chunk.seq == 1
    assert chunk.delta == "\n\n[1] Source — http://s"
    assert isinstance(done, ReplyDone) and done.seq == 2
    assert answer.answer == "maybe\n\n[1] Source — http://s"


async def test_without_research_a_low_confidence_answer_is_final() -> None:
    broker, seen = merger_broker()
    async with TestKafkaBroker(broker) as test_broker:
        spec = TaskSpec(id="t1", task="q?")
        await test_broker.publish(plan("r5", spec, streaming="t1").model_dump(mode="json"), PLANS)
        unsure = result("r5", "t1", output="maybe", confidence="low", streamed_chunks=1)
        await test_broker.publish(unsure.model_dump(mode="json"), RESULTS)
        [done] = await seen.wait_for(REPLIES)
    assert isinstance(done, ReplyDone) and done.seq == 1
    assert seen.events[task_topic("research")] == []


@pytest.mark.parametrize(
    "fields",
    [{"output": "", "model": "m-1"}, {"output": " \n", "model": "m-1"}],
    ids=["empty", "whitespace"],
)
async def test_a_streamed_expert_that_said_nothing_ends_with_an_error_not_done(
    fields: dict[str, object],
) -> None:
    broker, seen = merger_broker()
    async with TestKafkaBroker(broker) as test_broker:
        spec = TaskSpec(id="t1", task="q?")
        await test_broker.publish(plan("r9", spec, streaming="t1").model_dump(mode="json"), PLANS)
        silent = result("r9", "t1", finish_reason="stop", **fields)
        await test_broker.publish(silent.model_dump(mode="json"), RESULTS)
        [error] = await seen.wait_for(REPLIES)
    assert isinstance(error, ReplyError)
    assert error.seq == 0 and error.status == 502 and "'m-1' answered nothing" in error.message
    assert seen.events[ANSWERS] == []  # nothing committed, so nothing to cache


async def test_a_failed_streamed_expert_with_no_tokens_is_an_error_from_the_start() -> None:
    broker, seen = merger_broker()
    async with TestKafkaBroker(broker) as test_broker:
        spec = TaskSpec(id="t1", task="q?")
        await test_broker.publish(plan("r10", spec, streaming="t1").model_dump(mode="json"), PLANS)
        failed = result("r10", "t1", error="model 'm-1' answered nothing", confidence="low")
        await test_broker.publish(failed.model_dump(mode="json"), RESULTS)
        [error] = await seen.wait_for(REPLIES)
    assert isinstance(error, ReplyError) and error.seq == 0 and "m-1" in error.message
    assert seen.events[ANSWERS] == []


async def test_an_unstreamed_plan_with_only_empty_results_is_an_error() -> None:
    broker, seen = merger_broker(synthesis=False)
    tasks = (TaskSpec(id="a", task="x"), TaskSpec(id="b", task="y"))
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(plan("r11", *tasks).model_dump(mode="json"), PLANS)
        await test_broker.publish(result("r11", "a", output="").model_dump(mode="json"), RESULTS)
        empty = result("r11", "b", output="\n", model="m-2")
        await test_broker.publish(empty.model_dump(mode="json"), RESULTS)
        [error] = await seen.wait_for(REPLIES)
    assert isinstance(error, ReplyError) and error.status == 502
    assert "'m-2' answered nothing" in error.message and "task a" in error.message
    assert seen.events[ANSWERS] == []


async def test_an_answer_missing_an_empty_part_is_sent_but_not_cached() -> None:
    broker, seen = merger_broker(synthesis=False)
    tasks = (TaskSpec(id="a", task="x"), TaskSpec(id="b", task="y"))
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(plan("r12", *tasks).model_dump(mode="json"), PLANS)
        await test_broker.publish(result("r12", "a", output="").model_dump(mode="json"), RESULTS)
        await test_broker.publish(result("r12", "b", output="yes").model_dump(mode="json"), RESULTS)
        chunk, done = await seen.wait_for(REPLIES, 2)
        [answer] = await seen.wait_for(ANSWERS)
    assert isinstance(chunk, ReplyChunk) and chunk.delta == "yes"
    assert isinstance(done, ReplyDone)
    assert isinstance(answer, AnswerCommitted) and answer.cache_key is None

from datetime import UTC, datetime, timedelta

from faststream.kafka import KafkaResponse, TestKafkaBroker

from contracts import (
    AnswerCommitted,
    ChatMessage,
    FeedbackGiven,
    GenerationOptions,
    PlanCreated,
    ReplyChunk,
    ReplyDone,
    RequestReceived,
)
from contracts.topics import ANSWERS, FEEDBACK, PLANS, REPLIES, REQUESTS, task_topic
from contracts.wire import make_broker
from services.planner.answer_cache import AnswerCache, cache_key, semantic_scope, stands_alone
from services.planner.app import create_app
from services.planner.settings import PlannerSettings
from tests.unit.conftest import capture


def ask(question: str, request_id: str = "r1", **fields: object) -> RequestReceived:
    return RequestReceived.model_validate(
        {
            "request_id": request_id,
            "tenant": "acme",
            "model": "moe-orchestrator",
            "messages": [ChatMessage(role="user", content=question)],
            **fields,
        }
    )


def committed(
    key: str | None, response_id: str = "chatcmpl-1", **fields: object
) -> AnswerCommitted:
    return AnswerCommitted.model_validate(
        {
            "request_id": response_id.removeprefix("chatcmpl-"),
            "tenant": "acme",
            "response_id": response_id,
            "question": "q",
            "answer": "the answer",
            "cache_key": key,
            **fields,
        }
    )


def test_key_ignores_whitespace_but_not_tenant_mode_case_or_limits() -> None:
    base = cache_key(ask("What is Kafka?"))
    assert cache_key(ask("  What   is Kafka? ", request_id="other")) == base
    assert cache_key(ask("What is Kafka?", tenant="globex")) != base
    assert cache_key(ask("What is Kafka?", mode="concise")) != base
    assert cache_key(ask("what is kafka?")) != base
    assert cache_key(ask("What is Kafka?", options=GenerationOptions(max_tokens=5))) != base


def test_key_covers_the_conversation_not_only_the_last_question() -> None:
    earlier = [ChatMessage(role="user", content="Tell me about brokers")]
    follow_up = ask(
        "What is it?", messages=[*earlier, ChatMessage(role="user", content="What is it?")]
    )
    assert cache_key(follow_up) != cache_key(ask("What is it?"))


def test_remembered_answer_is_found_until_it_expires() -> None:
    cache = AnswerCache(max_entries=10, ttl_s=60)
    cache.remember(committed("k"))
    hit = cache.lookup("k")
    assert hit is not None and hit.answer == "the answer" and hit.response_id == "chatcmpl-1"
    old = datetime.now(UTC) - timedelta(seconds=120)
    cache.remember(committed("stale", "chatcmpl-2", created_at=old))
    assert cache.lookup("stale") is None


def test_uncacheable_answers_are_not_remembered() -> None:
    cache = AnswerCache(max_entries=10, ttl_s=60)
    cache.remember(committed(None))
    assert len(cache) == 0


def test_least_recently_used_entry_goes_first() -> None:
    cache = AnswerCache(max_entries=2, ttl_s=60)
    cache.remember(committed("a", "chatcmpl-a"))
    cache.remember(committed("b", "chatcmpl-b"))
    assert cache.lookup("a") is not None  # a is now the most recently used
    cache.remember(committed("c", "chatcmpl-c"))
    assert cache.lookup("b") is None
    assert cache.lookup("a") is not None and cache.lookup("c") is not None


def test_negative_feedback_removes_the_answer_even_when_read_before_it() -> None:
    cache = AnswerCache(max_entries=10, ttl_s=60)
    cache.remember(committed("k", "chatcmpl-1"))
    cache.apply(FeedbackGiven(request_id="1", response_id="chatcmpl-1", rating=-1))
    assert cache.lookup("k") is None
    cache.apply(FeedbackGiven(request_id="2", response_id="chatcmpl-2", rating=-1))
    cache.remember(committed("k2", "chatcmpl-2"))
    assert cache.lookup("k2") is None
    cache.remember(committed("k3", "chatcmpl-3"))
    cache.apply(FeedbackGiven(request_id="3", response_id="chatcmpl-3", rating=1))
    assert cache.lookup("k3") is not None


async def test_repeated_question_is_answered_by_the_planner_without_tasks() -> None:
    broker = make_broker("unused:9092", "planner")
    create_app(PlannerSettings(tools_url=""), broker)
    seen = capture(broker, [PLANS, REPLIES, task_topic("expert")])
    question = ask("What is Kafka?", request_id="first")
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(question.model_dump(mode="json"), REQUESTS)
        [plan] = await seen.wait_for(PLANS)
        assert plan.cache_key == cache_key(question) and plan.cache_hit is None
        answer = committed(plan.cache_key, "chatcmpl-first")
        await test_broker.publish(answer.model_dump(mode="json"), ANSWERS)
        again = ask(" What is  Kafka?", request_id="second")
        await test_broker.publish(again.model_dump(mode="json"), REQUESTS)
        chunk, done = await seen.wait_for(REPLIES, 2)
        _, hit_plan = await seen.wait_for(PLANS, 2)
    assert isinstance(chunk, ReplyChunk) and isinstance(done, ReplyDone)
    assert chunk.request_id == done.request_id == "second"
    assert chunk.delta == "the answer" and (chunk.seq, done.seq) == (0, 1)
    assert done.usage.total_tokens == 0  # no model was called
    assert isinstance(hit_plan, PlanCreated) and hit_plan.tasks == []
    assert hit_plan.cache_hit is not None and hit_plan.cache_hit.response_id == "chatcmpl-first"
    assert [t.request_id for t in seen.events[task_topic("expert")]] == ["first"]


async def test_flagged_answer_is_not_served_again() -> None:
    broker = make_broker("unused:9092", "planner")
    create_app(PlannerSettings(tools_url=""), broker)
    seen = capture(broker, [REPLIES, task_topic("expert")])
    key = cache_key(ask("What is Kafka?"))
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(committed(key, "chatcmpl-bad").model_dump(mode="json"), ANSWERS)
        bad = FeedbackGiven(request_id="bad", tenant="acme", response_id="chatcmpl-bad", rating=-1)
        await test_broker.publish(bad.model_dump(mode="json"), FEEDBACK)
        await test_broker.publish(
            ask("What is Kafka?", request_id="r2").model_dump(mode="json"), REQUESTS
        )
        [task] = await seen.wait_for(task_topic("expert"))
    assert task.request_id == "r2" and seen.events[REPLIES] == []


async def test_cache_can_be_turned_off() -> None:
    broker = make_broker("unused:9092", "planner")
    create_app(PlannerSettings(tools_url="", cache_enabled=False), broker)
    seen = capture(broker, [PLANS, task_topic("expert")])
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(committed("k").model_dump(mode="json"), ANSWERS)
        await test_broker.publish(ask("What is Kafka?").model_dump(mode="json"), REQUESTS)
        [plan] = await seen.wait_for(PLANS)
        await seen.wait_for(task_topic("expert"))
    assert plan.cache_key is None


def test_an_empty_answer_is_never_cached() -> None:
    # Defence in depth: the merger puts no cache key on an empty answer, and an entry
    # committed by an older merger must not be served either.
    cache = AnswerCache(max_entries=10, ttl_s=60)
    cache.remember(committed("k1", answer=""))
    cache.remember(committed("k2", response_id="chatcmpl-2", answer=" \n"))
    assert cache.lookup("k1") is None and cache.lookup("k2") is None and len(cache) == 0


def test_only_a_standalone_question_may_be_kept_by_the_semantic_cache() -> None:
    alone = ask("What is Kafka?")
    assert stands_alone(alone) and semantic_scope(cache_key(alone)) == "default"
    concise = RequestReceived.model_validate({**alone.model_dump(), "mode": "concise"})
    assert semantic_scope(cache_key(concise)) == "concise"
    follow_up = RequestReceived.model_validate(
        {
            **alone.model_dump(),
            "messages": [
                {"role": "user", "content": "What is 20 C in K?"},
                {"role": "assistant", "content": "293.15 K"},
                {"role": "user", "content": "and in Fahrenheit?"},
            ],
        }
    )
    assert not stands_alone(follow_up) and semantic_scope(cache_key(follow_up)) is None
    limited = RequestReceived.model_validate({**alone.model_dump(), "options": {"max_tokens": 5}})
    assert semantic_scope(cache_key(limited)) is None
    assert semantic_scope(None) is None and semantic_scope("an-old-style-hex-key") is None
    # A precise question's answer is cached exactly, never by meaning.
    precise = cache_key(alone, exact_only=True)
    assert semantic_scope(precise) is None and precise != cache_key(alone)


async def test_a_follower_gets_its_leaders_reply_past_an_unreadable_reply_event() -> None:
    broker = make_broker("unused:9092", "planner")
    create_app(PlannerSettings(tools_url=""), broker)
    seen = capture(broker, [PLANS, REPLIES])
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(ask("What is Kafka?", request_id="first"), REQUESTS)
        await seen.wait_for(PLANS)  # "first" leads; an identical question follows it
        await test_broker.publish(ask("What is Kafka?", request_id="second"), REQUESTS)
        # The leader's reply, read by the planner in batches from moe.replies: an event
        # it cannot read is skipped, and the rest of its batch still reaches the follower.
        broken = {"kind": "reply.chunk", "request_id": "first"}  # no seq, no delta
        chunk = ReplyChunk(request_id="first", tenant="acme", seq=0, delta="A log.")
        done = ReplyDone(request_id="first", tenant="acme", seq=1)
        batch = [KafkaResponse(event, key=b"first") for event in (broken, chunk, done)]
        await test_broker.publish_batch(*batch, topic=REPLIES)
        await seen.wait_for(REPLIES, 4)  # the leader's two, and the follower's copies
    copies = [e for e in seen.events[REPLIES] if e.request_id == "second"]
    assert [type(e) for e in copies] == [ReplyChunk, ReplyDone]
    assert isinstance(copies[0], ReplyChunk) and copies[0].delta == "A log."

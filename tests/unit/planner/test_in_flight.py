"""Identical requests in flight: who leads, who may still follow, and a follower's reply
copied from its leader's, event by event, late joiners first getting what was sent; the
followers of a leader that failed before answering are planned once more."""

from __future__ import annotations

import time

from faststream.kafka import TestKafkaBroker

from contracts import (
    ChatMessage,
    PlanCreated,
    ReplyChunk,
    ReplyDone,
    ReplyError,
    RequestReceived,
    Usage,
)
from contracts.topics import PLANS, REPLIES
from contracts.wire import NotDelivered, make_broker
from services.planner.in_flight import InFlight
from services.planner.relay import Relay
from tests.unit.conftest import capture


def chunk(seq: int, delta: str, request_id: str = "leader") -> ReplyChunk:
    return ReplyChunk(request_id=request_id, seq=seq, delta=delta)


def asking(request_id: str) -> RequestReceived:
    return RequestReceived(
        request_id=request_id,
        tenant="acme",
        model="moe-orchestrator",
        messages=[ChatMessage(role="user", content="Why Kafka?")],
    )


async def unexpected_replan(request: RequestReceived) -> None:
    raise AssertionError(f"{request.request_id} planned again")


def failure(request_id: str, seq: int = 0) -> ReplyError:
    return ReplyError(request_id=request_id, seq=seq, status=502, message="model down")


class Relaying:
    """A relay on the in-memory broker that records the requests it plans again."""

    def __init__(self) -> None:
        self.broker = make_broker("unused:9092", "planner")
        self.seen = capture(self.broker, [REPLIES])
        self.in_flight = InFlight(max_wait_s=60)
        self.replanned: list[str] = []
        self.relay = Relay(self.broker, self.in_flight, self._replan)

    async def _replan(self, request: RequestReceived) -> None:
        self.replanned.append(request.request_id)


def test_a_leader_takes_followers_until_its_answer_is_in_the_cache_view() -> None:
    in_flight = InFlight(max_wait_s=60)
    leader = in_flight.start("key", "leader")
    assert in_flight.leader("key") is leader and in_flight.streaming("leader") is leader
    in_flight.answered("leader")  # the exact cache answers the next one
    assert in_flight.leader("key") is None
    assert in_flight.streaming("leader") is leader  # its stream still goes to followers
    leader.events.append(ReplyDone(request_id="leader", seq=0))
    in_flight.ended(leader)
    assert in_flight.streaming("leader") is None and len(in_flight) == 0


def test_a_failed_leader_takes_no_more_followers() -> None:
    in_flight = InFlight(max_wait_s=60)
    leader = in_flight.start("key", "leader")
    leader.events.append(ReplyError(request_id="leader", message="model down"))
    in_flight.ended(leader)
    assert in_flight.leader("key") is None and in_flight.streaming("leader") is None


def test_a_finished_leader_still_takes_followers_until_its_answer_is_in_the_view() -> None:
    in_flight = InFlight(max_wait_s=60)
    leader = in_flight.start("key", "leader")
    leader.events += [chunk(0, "done"), ReplyDone(request_id="leader", seq=1)]
    in_flight.ended(leader)
    assert in_flight.leader("key") is leader and leader.finished and leader.answer == "done"


def test_leaders_are_forgotten_after_the_longest_wait() -> None:
    in_flight = InFlight(max_wait_s=60)
    old = in_flight.start("old", "leader-1")
    old.started = time.monotonic() - 61
    in_flight.start("new", "leader-2")
    assert in_flight.leader("old") is None and in_flight.streaming("leader-1") is None
    assert in_flight.leader("new") is not None


def test_a_new_leader_for_the_same_key_replaces_the_old_one() -> None:
    in_flight = InFlight(max_wait_s=60)
    in_flight.start("key", "leader-1")
    in_flight.start("key", "leader-2")
    in_flight.answered("leader-1")  # late answer of the replaced leader: no effect
    leader = in_flight.leader("key")
    assert leader is not None and leader.request_id == "leader-2"


async def test_follower_gets_the_leaders_reply_so_far_then_the_rest() -> None:
    broker = make_broker("unused:9092", "planner")
    seen = capture(broker, [REPLIES, PLANS])
    in_flight = InFlight(max_wait_s=60)
    relay = Relay(broker, in_flight, unexpected_replan)
    follower = asking("follower")
    async with TestKafkaBroker(broker):
        leader = in_flight.start("key", "leader")
        await relay.leader_event(leader, chunk(0, "Because"))
        await relay.follow(leader, follower)
        await relay.leader_event(leader, chunk(1, " logs."))
        usage = Usage(prompt_tokens=5, completion_tokens=2)
        await relay.leader_event(leader, ReplyDone(request_id="leader", seq=2, usage=usage))
        replies = await seen.wait_for(REPLIES, 3)
        [plan] = await seen.wait_for(PLANS)
    copied = [(e.request_id, e.tenant, e.kind, e.seq) for e in replies]
    assert copied == [
        ("follower", "acme", "reply.chunk", 0),
        ("follower", "acme", "reply.chunk", 1),
        ("follower", "acme", "reply.done", 2),
    ]
    assert [e.delta for e in replies if isinstance(e, ReplyChunk)] == ["Because", " logs."]
    done = replies[2]
    assert isinstance(done, ReplyDone) and done.usage.total_tokens == 0  # no model call
    assert isinstance(plan, PlanCreated) and plan.planned_by == "coalesced"
    assert plan.cache_hit is not None and plan.cache_hit.answer == "Because logs."
    assert plan.cache_hit.response_id == "chatcmpl-leader" and plan.question == "Why Kafka?"
    assert in_flight.streaming("leader") is None  # its stream ended


async def test_a_request_made_after_its_leader_failed_is_planned_again() -> None:
    r = Relaying()
    broker, seen, in_flight, relay = r.broker, r.seen, r.in_flight, r.relay
    async with TestKafkaBroker(broker):
        leader = in_flight.start("key", "leader")
        await relay.follow(leader, asking("concurrent"))  # made before the failure
        failed = failure("leader")
        # Made after the failure, joined before this planner had read it: a client's
        # retry on getting the error.
        await relay.follow(leader, asking("retry"))
        await relay.leader_event(leader, failed)
        # On its way when the failure came: joins afterwards.
        await relay.follow(leader, asking("later"))
        [error] = await seen.wait_for(REPLIES)
    assert (error.request_id, error.kind) == ("concurrent", "reply.error")
    assert r.replanned == ["retry", "later"]
    assert in_flight.leader("key") is None  # a retry leads afresh, not this leader


async def test_a_leader_failing_mid_answer_passes_the_error_to_its_followers() -> None:
    r = Relaying()
    broker, seen, in_flight, relay = r.broker, r.seen, r.in_flight, r.relay
    async with TestKafkaBroker(broker):
        leader = in_flight.start("key", "leader")
        await relay.leader_event(leader, chunk(0, "Because"))
        failed = failure("leader", seq=1)
        await relay.follow(leader, asking("follower"))  # made after: it has the start
        await relay.leader_event(leader, failed)
        replies = await seen.wait_for(REPLIES, 2)
    assert [(e.request_id, e.kind) for e in replies] == [
        ("follower", "reply.chunk"),
        ("follower", "reply.error"),
    ]
    assert r.replanned == []


async def test_a_request_that_cannot_be_planned_again_gets_the_failure_it_came_after() -> None:
    broker = make_broker("unused:9092", "planner")
    seen = capture(broker, [REPLIES])
    in_flight = InFlight(max_wait_s=60)

    async def replan(request: RequestReceived) -> None:
        raise NotDelivered("moe.plans: not acknowledged by the broker within 5 s")

    relay = Relay(broker, in_flight, replan)
    async with TestKafkaBroker(broker):
        leader = in_flight.start("key", "leader")
        failed = failure("leader")
        await relay.follow(leader, asking("retry"))
        await relay.leader_event(leader, failed)
        [error] = await seen.wait_for(REPLIES)
    assert (error.request_id, error.kind, error.message) == ("retry", "reply.error", "model down")

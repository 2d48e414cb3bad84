"""A follower's reply is its leader's, event by event: the chunks as they come (those
already sent first, at once), then the end. A follower that made no model call ends
with zero usage, and its plan event, published at the end, records the answer it was
given and the leader it followed. A request made after its leader failed, before any of
the answer, is planned as if the leader had not been there (services.planner.in_flight)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
from faststream.kafka import KafkaBroker

from contracts import (
    CachedAnswer,
    PlanCreated,
    ReplyChunk,
    ReplyDone,
    ReplyError,
    RequestReceived,
    response_id_for,
)
from contracts.events import ReplyEvent
from contracts.topics import PLANS, REPLIES
from contracts.wire import Unconfirmed
from services.planner.in_flight import InFlight, Leader
from services.planner.plan import last_user_text

log = structlog.get_logger()

Replan = Callable[[RequestReceived], Awaitable[None]]
"""Handles a request as if it had just arrived (the planner's own entry point)."""


class Relay:
    def __init__(self, broker: KafkaBroker, in_flight: InFlight, replan: Replan) -> None:
        self._broker = broker
        self._in_flight = in_flight
        self._replan = replan

    async def follow(self, leader: Leader, request: RequestReceived) -> None:
        """`request` follows `leader` from the start of its reply."""
        async with leader.lock:
            retry = leader.failed_before(request)
            if not retry:
                leader.followers.append(request)
                await self._send(leader, list(leader.events), [request])
        if retry:  # the failure came while this request was on its way to the leader
            await self._retry(leader, [request])

    async def leader_event(self, leader: Leader, event: ReplyEvent) -> None:
        """One more event of a leader's reply, for its followers and later ones."""
        async with leader.lock:
            leader.events.append(event)
            retry = [f for f in leader.followers if leader.failed_before(f)]
            if retry:
                leader.followers = [f for f in leader.followers if not leader.failed_before(f)]
            if leader.followers:
                await self._send(leader, [event], leader.followers)
        if leader.finished:
            self._in_flight.ended(leader)  # before any retry: it takes no more followers
        if retry:
            await self._retry(leader, retry)

    async def _retry(self, failed: Leader, requests: list[RequestReceived]) -> None:
        """Requests made after `failed` failed: planned as if it had not been there (the
        first may lead the others)."""
        log.info("followers_replanned", failed=failed.request_id, count=len(requests))
        for request in requests:
            try:
                await self._replan(request)
            except Exception as exc:  # it gets the failure it came after, not silence
                log.warning("replan_failed", request_id=request.request_id, error=repr(exc))
                await self._send(failed, failed.events[-1:], [request])

    async def _send(
        self, leader: Leader, events: list[ReplyEvent], followers: list[RequestReceived]
    ) -> None:
        sent = Unconfirmed(self._broker)
        for event in events:
            for follower in followers:
                for copied, topic in self._copies(leader, event, follower):
                    await sent.send(copied, topic)
        problem = await sent.confirm()
        if problem is not None:
            log.warning("relay_not_confirmed", leader=leader.request_id, problem=problem)

    def _copies(
        self, leader: Leader, event: ReplyEvent, follower: RequestReceived
    ) -> list[tuple[PlanCreated | ReplyEvent, str]]:
        ids = {"request_id": follower.request_id, "tenant": follower.tenant}
        if isinstance(event, ReplyChunk):
            return [(ReplyChunk(**ids, seq=event.seq, delta=event.delta), REPLIES)]
        if isinstance(event, ReplyError):
            copied = ReplyError(
                **ids, seq=event.seq, status=event.status, code=event.code, message=event.message
            )
            return [(copied, REPLIES)]
        done = ReplyDone(**ids, seq=event.seq, finish_reason=event.finish_reason)
        answer = CachedAnswer(response_id=response_id_for(leader.request_id), answer=leader.answer)
        plan = PlanCreated(
            **ids,
            question=last_user_text(follower),
            cache_hit=answer,
            planned_by="coalesced",
            plan_note=f"followed the reply of {leader.request_id}",
        )
        return [(done, REPLIES), (plan, PLANS)]

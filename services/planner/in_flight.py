"""Identical requests in flight: the first one with a cache key is planned (the leader);
one that arrives before the leader's answer is in the cache view follows the leader's
reply stream instead of calling the models again (services.planner.relay).

The view trails moe.answers by a fetch wait, so a question repeated the moment its answer
arrived also finds its leader here and gets the whole answer at once. Leaders are this
instance's own. A leader stops taking followers when its answer is in the cache view, it
was answered from the semantic cache, or its reply ended in an error; it is forgotten
once its stream has ended as well, or after `max_wait_s` whatever happened.

A leader that failed before any of its answer passes the failure on only to the requests
made before it failed; one made after is planned as if the leader had not been there.
This instance reads the failure a batch wait after the gateway relays it, so a client
that retries at once may have joined the failed leader: the retry is a real attempt, not
a copy of the error (services.planner.relay)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from contracts import ReplyChunk, ReplyDone, ReplyError, RequestReceived
from contracts.events import ReplyEvent


@dataclass
class Leader:
    request_id: str
    key: str
    started: float = field(default_factory=time.monotonic)
    events: list[ReplyEvent] = field(default_factory=list)
    """Its reply so far, for followers that join late."""
    followers: list[RequestReceived] = field(default_factory=list)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held while events go out to followers, so each follower gets them in order."""

    @property
    def finished(self) -> bool:
        return bool(self.events) and isinstance(self.events[-1], ReplyDone | ReplyError)

    def failed_before(self, request: RequestReceived) -> bool:
        """Its reply ended in an error, with none of the answer, before `request` was
        made (by the two events' clocks): `request` was not part of that attempt."""
        failure = self.events[-1] if self.events else None
        return (
            isinstance(failure, ReplyError)
            and not any(isinstance(e, ReplyChunk) for e in self.events)
            and failure.created_at < request.created_at
        )

    @property
    def answer(self) -> str:
        return "".join(e.delta for e in self.events if isinstance(e, ReplyChunk))


class InFlight:
    def __init__(self, max_wait_s: float) -> None:
        self.max_wait_s = max_wait_s
        self._by_key: dict[str, Leader] = {}  # still taking followers; oldest first
        self._by_request: dict[str, Leader] = {}  # still streaming; oldest first

    def __len__(self) -> int:
        return len(self._by_request)

    def leader(self, key: str) -> Leader | None:
        self._forget_stale()
        return self._by_key.get(key)

    def start(self, key: str, request_id: str) -> Leader:
        """`request_id` leads `key` (again: the same leader)."""
        self._forget_stale()
        existing = self._by_request.get(request_id)
        if existing is not None:
            return existing
        leader = Leader(request_id, key)
        self._by_key.pop(key, None)  # re-inserted last: the dict stays oldest first
        self._by_key[key] = leader
        self._by_request[request_id] = leader
        return leader

    def streaming(self, request_id: str) -> Leader | None:
        """The leader whose reply events these are, while its stream runs."""
        return self._by_request.get(request_id)

    def ended(self, leader: Leader) -> None:
        """The leader's stream ended: a failure takes no more followers."""
        self._by_request.pop(leader.request_id, None)
        if isinstance(leader.events[-1], ReplyError):
            self._close(leader)

    def answered(self, request_id: str) -> None:
        """The cache view has the answer of `request_id` (cacheable or not): the cache
        serves the next identical request, or it is planned afresh."""
        leader = self._by_request.get(request_id)
        if leader is None:
            leader = next((f for f in self._by_key.values() if f.request_id == request_id), None)
        if leader is not None:
            self._close(leader)

    def _close(self, leader: Leader) -> None:
        if self._by_key.get(leader.key) is leader:
            del self._by_key[leader.key]

    def _forget_stale(self) -> None:
        now = time.monotonic()
        for leaders in (self._by_key, self._by_request):
            while leaders:
                name, leader = next(iter(leaders.items()))
                if now - leader.started < self.max_wait_s:
                    break
                del leaders[name]

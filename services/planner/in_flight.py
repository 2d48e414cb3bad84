"""Identical requests in flight: the first one with a cache key is planned (the leader);
those that arrive before its answer reaches the cache view wait for it instead of
calling the models again, and are answered from the cache once it is there.

The view trails moe.answers by a fetch wait, so a question repeated the moment its answer
arrived also finds its leader here, and is a hit a few milliseconds later. Leaders are
this instance's own. When a leader's reply ends in an error, or its answer does not come
within `max_wait_s`, its followers are planned as usual."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field


@dataclass
class Leader:
    request_id: str
    started: float = field(default_factory=time.monotonic)
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    failed: bool = False


class InFlight:
    def __init__(self, max_wait_s: float) -> None:
        self.max_wait_s = max_wait_s
        self._by_key: dict[str, Leader] = {}  # oldest first
        self._keys: dict[str, str] = {}  # leader request_id -> key

    def __len__(self) -> int:
        return len(self._by_key)

    def leader(self, key: str) -> Leader | None:
        self._forget_stale()
        return self._by_key.get(key)

    def start(self, key: str, request_id: str) -> None:
        self._forget_stale()
        self._by_key.pop(key, None)  # re-inserted last: the dict stays oldest first
        self._by_key[key] = Leader(request_id)
        self._keys[request_id] = key

    def is_leader(self, request_id: str) -> bool:
        return request_id in self._keys

    def answered(self, request_id: str, failed: bool = False) -> None:
        """The cache view has applied the answer of `request_id` (cacheable or not), or
        its reply ended in an error (`failed`: there will be no answer)."""
        key = self._keys.pop(request_id, None)
        leader = self._by_key.get(key) if key is not None else None
        if key is not None and leader is not None and leader.request_id == request_id:
            del self._by_key[key]
            leader.failed = failed
            leader.answered.set()

    async def wait(self, leader: Leader, deadline_at: float | None) -> bool:
        """Until `leader` is answered (True); False when it failed, or when the wait or
        the request's deadline ran out."""
        left = self.max_wait_s - (time.monotonic() - leader.started)
        if deadline_at is not None:
            left = min(left, deadline_at - time.time())
        try:
            async with asyncio.timeout(max(left, 0.0)):
                await leader.answered.wait()
        except TimeoutError:
            return False
        return not leader.failed

    def _forget_stale(self) -> None:
        now = time.monotonic()
        while self._by_key:
            key, leader = next(iter(self._by_key.items()))
            if now - leader.started < self.max_wait_s:
                return
            del self._by_key[key]
            self._keys.pop(leader.request_id, None)

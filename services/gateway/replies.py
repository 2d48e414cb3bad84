"""Routes reply events from moe.replies to the HTTP request waiting for them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from contracts import ReplyChunk, ReplyError, ReplyEvent


class ReplyTimeout(Exception):
    """No reply event arrived before the request's deadline."""


class Overloaded(Exception):
    """Too many requests are waiting for replies on this gateway."""


class ReplyStream:
    """The reply events of one request, in `seq` order, duplicates dropped."""

    def __init__(self, request_id: str, deadline: float) -> None:
        self.request_id = request_id
        self.deadline = deadline
        self._queue: asyncio.Queue[ReplyEvent] = asyncio.Queue()
        self._next_seq = 0

    def put(self, event: ReplyEvent) -> None:
        if isinstance(event, ReplyChunk):
            # A redelivered chunk (producer retry) must not be shown twice.
            if event.seq < self._next_seq:
                return
            self._next_seq = event.seq + 1
        self._queue.put_nowait(event)

    def ready(self) -> ReplyEvent | None:
        """The next event if it has arrived already, else None (without waiting)."""
        return None if self._queue.empty() else self._queue.get_nowait()

    async def next(self) -> ReplyEvent:
        ready = self.ready()
        if ready is not None:  # under load the next token is often there already
            return ready
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise ReplyTimeout
        try:
            # asyncio.timeout, not wait_for: wait_for wraps the get in a new task per token.
            async with asyncio.timeout(remaining):
                return await self._queue.get()
        except TimeoutError as exc:
            raise ReplyTimeout from exc


class PendingReplies:
    """Open reply streams of this gateway instance, bounded to apply backpressure."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._streams: dict[str, ReplyStream] = {}

    def __len__(self) -> int:
        return len(self._streams)

    def open(self, request_id: str, timeout_s: float) -> ReplyStream:
        if len(self._streams) >= self.capacity:
            raise Overloaded
        stream = ReplyStream(request_id, time.monotonic() + timeout_s)
        self._streams[request_id] = stream
        return stream

    def close(self, request_id: str) -> None:
        self._streams.pop(request_id, None)

    def fail_all(self, error_for: Callable[[str], ReplyError]) -> int:
        """End every open stream with the error made for its request; how many."""
        for request_id, stream in self._streams.items():
            stream.put(error_for(request_id))
        return len(self._streams)

    def deliver(self, event: ReplyEvent) -> None:
        # Every gateway instance reads every reply; most belong to other instances.
        stream = self._streams.get(event.request_id)
        if stream is not None:
            stream.put(event)

"""Tasks answered off the consumer's loop, at most `limit` at once.

FastStream's `max_workers` hands each message through an anyio memory stream to a task
group before its handler starts: on this 2-core machine that added about 0.4 ms to every
task's hop (publish -> handler p50 1.5 -> 1.9 ms a few idle ms apart, 2.6 -> 3.0 ms
30 ms apart), on the way to every answer's first token. Here the handler takes a slot,
waiting while all are taken (so the consumer stops fetching, as with `max_workers`),
and starts the answer as a task of its own."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

log = structlog.get_logger()

Work = Callable[[], Awaitable[None]]
OnFailure = Callable[[BaseException], Awaitable[None]]


class Answering:
    """The answers in flight, each a task kept here until it ends."""

    def __init__(self, limit: int) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self, work: Work, on_failure: OnFailure) -> None:
        """Wait for a free slot, then run `work()` as a task; an exception it raises goes
        to `on_failure` (the dead letter a handler's exception would have become)."""
        await self._slots.acquire()
        task = asyncio.create_task(self._run(work, on_failure))
        # Kept referenced until done: an unreferenced task may be garbage-collected.
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, work: Work, on_failure: OnFailure) -> None:
        try:
            await work()
        except Exception as exc:
            try:
                await on_failure(exc)
            except Exception as lost:  # the broker is gone too: the log is all there is
                log.error("answer_failed", error=repr(exc), not_dead_lettered=repr(lost))
        finally:
            self._slots.release()

    async def drain(self) -> None:
        """Wait for every answer in flight, including those started while waiting."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

"""How the merger's events leave: an outcome in order, and a synthesized answer's
chunks sent back to back and confirmed once.

Awaiting each chunk's acknowledgement before reading the judge's next token would put a
broker round trip between every two tokens. The producer keeps one partition's order,
so the chunks are sent unconfirmed and all acknowledgements are awaited before ReplyDone,
which must not overtake them (the experts stream their chunks the same way)."""

from __future__ import annotations

import asyncio

from aiokafka.structs import RecordMetadata
from faststream.kafka import KafkaBroker

from contracts import ReplyChunk
from contracts.topics import ANSWERS, REPLIES
from contracts.wire import publish_event, send_event
from services.merger.merge import Outcome


async def publish_outcome(broker: KafkaBroker, outcome: Outcome) -> None:
    for reply in outcome.replies:
        await publish_event(broker, reply, REPLIES)
    if outcome.answer is not None:
        await publish_event(broker, outcome.answer, ANSWERS)


class ReplyChunks:
    def __init__(self, broker: KafkaBroker) -> None:
        self._broker = broker
        self._pending: list[asyncio.Future[RecordMetadata]] = []

    async def send(self, chunk: ReplyChunk) -> None:
        sent = await send_event(self._broker, chunk, REPLIES)
        if asyncio.isfuture(sent):  # the in-memory test broker delivers at once instead
            self._pending.append(sent)

    async def confirm(self) -> str | None:
        """None when every chunk reached the broker, else why some did not."""
        outcomes = await asyncio.gather(*self._pending, return_exceptions=True)
        self._pending.clear()
        failed = [o for o in outcomes if isinstance(o, BaseException)]
        if not failed:
            return None
        return f"{len(failed)} reply chunk(s) not delivered: {failed[0]!r}"

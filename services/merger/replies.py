"""How the merger's events leave: an outcome's replies and its answer are sent back to
back (the producer keeps the replies' order within their partition) and confirmed
together, one broker round trip instead of one per event."""

from __future__ import annotations

from faststream.kafka import KafkaBroker

from contracts.topics import ANSWERS, REPLIES
from contracts.wire import Unconfirmed
from services.merger.merge import Outcome


async def publish_outcome(broker: KafkaBroker, outcome: Outcome) -> None:
    sent = Unconfirmed(broker)
    for reply in outcome.replies:
        await sent.send(reply, REPLIES)
    if outcome.answer is not None:
        await sent.send(outcome.answer, ANSWERS)
    await sent.confirmed()

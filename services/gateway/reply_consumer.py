"""The gateway's consumer of moe.replies."""

from __future__ import annotations

import asyncio
from typing import Annotated

from faststream.kafka import KafkaBroker
from faststream.kafka.subscriber.usecase import DefaultSubscriber
from pydantic import Field

from contracts.events import CanaryPong, ReplyChunk, ReplyDone, ReplyError
from contracts.topics import REPLIES
from contracts.wire import FETCH_MAX_WAIT_MS
from services.gateway.health import Canaries
from services.gateway.replies import PendingReplies

# moe.replies carries the reply events of requests, and the canaries' pongs for /health.
GatewayInput = Annotated[
    ReplyChunk | ReplyDone | ReplyError | CanaryPong, Field(discriminator="kind")
]


def attach_reply_consumer(
    broker: KafkaBroker, pending: PendingReplies, canaries: Canaries
) -> DefaultSubscriber:
    # No consumer group: every gateway instance reads every partition, because the
    # request waiting for a reply may be held by any instance.
    subscriber = broker.subscriber(
        REPLIES, auto_offset_reset="latest", fetch_max_wait_ms=FETCH_MAX_WAIT_MS
    )

    @subscriber
    async def on_reply(event: GatewayInput) -> None:
        if isinstance(event, CanaryPong):
            canaries.deliver(event)
        else:
            pending.deliver(event)

    return subscriber


async def wait_until_assigned(subscriber: DefaultSubscriber, timeout_s: float = 30.0) -> None:
    """Resolve the consumer's start offsets before serving, so that no reply published
    right after the first request can fall before the consumer's starting position."""
    consumer = subscriber.consumer
    if consumer is None:  # the in-memory test broker has no real consumer
        return
    async with asyncio.timeout(timeout_s):
        while not consumer.assignment():  # noqa: ASYNC110 - aiokafka has no assignment event
            await asyncio.sleep(0.01)
        for partition in consumer.assignment():
            await consumer.position(partition)

"""moe.replies of the unit tests' in-memory broker, read into a gateway app: what the
gateway's ReplyReader does on a real broker, done by a FastStream subscriber, since the
in-memory broker delivers only to subscribers."""

from __future__ import annotations

from faststream.kafka import KafkaBroker

from contracts.topics import REPLIES
from services.gateway.health import Canaries
from services.gateway.replies import PendingReplies
from services.gateway.reply_consumer import (
    GatewayInput,
    ReplySource,
    ReplySourceFactory,
    route_reply,
)


class _Subscribed:
    """Reads from the moment it is subscribed: nothing to start or stop."""

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass


def in_memory_replies(broker: KafkaBroker) -> ReplySourceFactory:
    """For `create_app(settings, broker, replies=...)`, before TestKafkaBroker(broker)."""

    def subscribe(pending: PendingReplies, canaries: Canaries) -> ReplySource:
        @broker.subscriber(REPLIES)
        async def on_reply(event: GatewayInput) -> None:
            route_reply(event, pending, canaries)

        return _Subscribed()

    return subscribe

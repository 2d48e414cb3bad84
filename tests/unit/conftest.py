"""Unit lane: handlers run against FastStream's in-memory TestKafkaBroker."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from contracts import EVENT_ADAPTER
from contracts.events import AnyEvent


class Captured:
    """Events published to the topics a test watches, in arrival order."""

    def __init__(self) -> None:
        self.events: dict[str, list[AnyEvent]] = defaultdict(list)
        self.headers: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._arrived = asyncio.Event()

    def record(self, topic: str, body: Any, headers: dict[str, Any]) -> None:
        self.events[topic].append(EVENT_ADAPTER.validate_python(body))
        self.headers[topic].append(headers)
        self._arrived.set()

    async def wait_for(self, topic: str, count: int = 1, timeout_s: float = 5.0) -> list[AnyEvent]:
        async with asyncio.timeout(timeout_s):
            while len(self.events[topic]) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.events[topic]


def capture(broker: KafkaBroker, topics: Iterable[str]) -> Captured:
    """Subscribe recorders to `topics`; call before entering TestKafkaBroker."""
    captured = Captured()
    for topic in topics:

        def make(name: str) -> Any:
            async def recorder(message: KafkaMessage) -> None:
                captured.record(name, await message.decode(), dict(message.headers))

            return recorder

        broker.subscriber(topic, group_id=f"capture-{topic}")(make(topic))
    return captured

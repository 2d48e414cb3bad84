"""Test helpers: direct in-process tool calls, task events, and an inbox of published events."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import pytest
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from contracts import EVENT_ADAPTER
from contracts.events import ChatMessage, TaskAssigned, TaskSpec
from services.tools.catalog import execute
from services.tools.registry import Result, ToolError


def call(tool: str, **args: Any) -> Result:
    """Run a tool in this process: for fast known-answer tests of the pure functions."""
    return execute(tool, args)


def fails(tool: str, **args: Any) -> ToolError:
    with pytest.raises(ToolError) as info:
        execute(tool, args)
    return info.value


def assigned(
    tool: str | None, args: dict[str, Any] | None, category: str = "tools", task: str = "compute"
) -> TaskAssigned:
    return TaskAssigned(
        request_id="req-1",
        tenant="acme",
        task=TaskSpec(id="t1", task=task, category=category, worker="tool", tool=tool, args=args),
        messages=[ChatMessage(role="user", content=task)],
    )


class Inbox:
    """Events published to watched topics; subscribe before the test broker starts."""

    def __init__(self, broker: KafkaBroker, topics: list[str]) -> None:
        self.events: dict[str, list[Any]] = defaultdict(list)
        self.keys: dict[str, list[bytes | None]] = defaultdict(list)
        self._arrived = asyncio.Event()
        for topic in topics:
            broker.subscriber(topic, group_id=f"test-{topic}")(self._recorder(topic))

    def _recorder(self, topic: str) -> Any:
        async def record(message: KafkaMessage) -> None:
            self.events[topic].append(EVENT_ADAPTER.validate_python(await message.decode()))
            self.keys[topic].append(message.raw_message.key)
            self._arrived.set()

        return record

    async def wait_for(self, topic: str, count: int = 1) -> list[Any]:
        async with asyncio.timeout(10):
            while len(self.events[topic]) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.events[topic]

    async def first(self, topic: str) -> Any:
        return (await self.wait_for(topic))[0]

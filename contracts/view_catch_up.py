"""When a view has caught up with the topics it is built from.

A service that keeps a view of topics (the planner's answer cache of moe.answers and
moe.feedback, the experts' scores of moe.feedback) notes at start-up where every
partition of those topics ends; the view is rebuilt once its subscriber has read up to
there. Work that needs the view waits for that (bounded), so a service that restarts
answers as it did before, and the rebuild's size and time are logged."""

from __future__ import annotations

import asyncio
import time
from typing import Final

import structlog
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition

log = structlog.get_logger()

END_OFFSETS_TIMEOUT_S: Final = 10.0


class ViewCatchUp:
    """`view` names it in the logs: `<view>_rebuilt events=… seconds=…`."""

    def __init__(self, kafka_url: str, topics: list[str], max_wait_s: float, view: str) -> None:
        self._kafka_url = kafka_url
        self._topics = topics
        self._max_wait_s = max_wait_s
        self._view = view
        self._pending: dict[tuple[str, int], int] = {}  # partition -> last offset to read
        self._events = 0
        self._began = time.monotonic()
        self._ready = asyncio.Event()

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    async def start(self) -> None:
        """Note where the topics end now (an unreachable broker: serve without waiting)."""
        self._began = time.monotonic()
        try:
            async with asyncio.timeout(min(END_OFFSETS_TIMEOUT_S, self._max_wait_s)):
                ends = await self._end_offsets()
        except Exception as exc:  # the view still fills as events arrive; nobody waits
            log.warning(f"{self._view}_rebuild_unknown", reason=f"{type(exc).__name__}: {exc}")
            self._ready.set()
            return
        self._pending = {(tp.topic, tp.partition): end - 1 for tp, end in ends.items() if end > 0}
        self._finish_if_done()

    async def _end_offsets(self) -> dict[TopicPartition, int]:
        admin = AIOKafkaAdminClient(bootstrap_servers=self._kafka_url)
        consumer = AIOKafkaConsumer(bootstrap_servers=self._kafka_url, enable_auto_commit=False)
        await admin.start()
        await consumer.start()
        try:
            described = await admin.describe_topics(self._topics)
            partitions = [
                TopicPartition(topic["topic"], partition["partition"])
                for topic in described
                for partition in topic["partitions"]
            ]
            return await consumer.end_offsets(partitions) if partitions else {}
        finally:
            await consumer.stop()
            await admin.close()

    def seen(self, topic: str, partition: int, offset: int) -> None:
        """An event of the view was applied."""
        if self.ready:
            return
        self._events += 1
        last = self._pending.get((topic, partition))
        if last is not None and offset >= last:
            del self._pending[(topic, partition)]
            self._finish_if_done()

    def _finish_if_done(self) -> None:
        if self._pending or self.ready:
            return
        self._ready.set()
        seconds = round(time.monotonic() - self._began, 3)
        log.info(f"{self._view}_rebuilt", events=self._events, seconds=seconds)

    async def wait(self) -> None:
        """Until rebuilt, at most `max_wait_s` from start-up (then serve anyway)."""
        if self.ready:
            return
        left = self._max_wait_s - (time.monotonic() - self._began)
        try:
            async with asyncio.timeout(max(left, 0.0)):
                await self._ready.wait()
        except TimeoutError:
            log.warning(f"{self._view}_rebuild_slow", waiting_for=dict(self._pending))
            self._ready.set()

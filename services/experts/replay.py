"""When the scores have caught up with moe.feedback, the topic they are a view of.

At start-up the worker notes where every partition of moe.feedback ends; the view is
rebuilt once the feedback subscriber has read up to there. Tasks wait for that
(bounded), so a worker that restarts orders its models as it did before."""

from __future__ import annotations

import asyncio
import time

import structlog
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition

log = structlog.get_logger()

END_OFFSETS_TIMEOUT_S = 10.0


class Replay:
    def __init__(self, kafka_url: str, topic: str, max_wait_s: float) -> None:
        self._kafka_url, self._topic, self._max_wait_s = kafka_url, topic, max_wait_s
        self._pending: dict[int, int] = {}  # partition -> last offset to read
        self._events = 0
        self._began = time.monotonic()
        self._ready = asyncio.Event()

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    async def start(self) -> None:
        """Note where the topic ends now (an unreachable broker: serve without waiting)."""
        self._began = time.monotonic()
        try:
            async with asyncio.timeout(min(END_OFFSETS_TIMEOUT_S, self._max_wait_s)):
                ends = await self._end_offsets()
        except Exception as exc:  # scores still fill as ratings arrive; nobody waits
            log.warning("scores_replay_unknown", reason=f"{type(exc).__name__}: {exc}")
            self._ready.set()
            return
        self._pending = {tp.partition: end - 1 for tp, end in ends.items() if end > 0}
        self._finish_if_done()

    async def _end_offsets(self) -> dict[TopicPartition, int]:
        admin = AIOKafkaAdminClient(bootstrap_servers=self._kafka_url)
        consumer = AIOKafkaConsumer(bootstrap_servers=self._kafka_url, enable_auto_commit=False)
        await admin.start()
        await consumer.start()
        try:
            [described] = await admin.describe_topics([self._topic])
            partitions = [
                TopicPartition(self._topic, p["partition"]) for p in described["partitions"]
            ]
            return await consumer.end_offsets(partitions) if partitions else {}
        finally:
            await consumer.stop()
            await admin.close()

    def seen(self, partition: int, offset: int) -> None:
        """A rating was applied."""
        if self.ready:
            return
        self._events += 1
        last = self._pending.get(partition)
        if last is not None and offset >= last:
            del self._pending[partition]
            self._finish_if_done()

    def _finish_if_done(self) -> None:
        if self._pending or self.ready:
            return
        self._ready.set()
        seconds = round(time.monotonic() - self._began, 3)
        log.info("scores_rebuilt", ratings=self._events, seconds=seconds)

    async def wait(self) -> None:
        """Until rebuilt, at most `max_wait_s` from start-up (then serve anyway)."""
        if self.ready:
            return
        left = self._max_wait_s - (time.monotonic() - self._began)
        try:
            async with asyncio.timeout(max(left, 0.0)):
                await self._ready.wait()
        except TimeoutError:
            log.warning("scores_replay_slow", waiting_for=dict(self._pending))
            self._ready.set()

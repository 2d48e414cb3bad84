"""Consumer groups as the broker sees them, once a minute: each group's state, member
count and lag (end offsets minus committed offsets, summed over the partitions the group
has committed). Every call is bounded, so a stuck broker shows up as a probe error
instead of stalling the soak."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import BaseModel, ConfigDict

log = structlog.get_logger("bench.soak")

PROBE_TIMEOUT_S = 10.0


class GroupView(BaseModel):
    model_config = ConfigDict(frozen=True)

    state: str
    members: int
    lag: int


class LagProbe:
    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self._admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=8000)
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, enable_auto_commit=False, request_timeout_ms=8000
        )
        self._started = False

    async def start(self) -> None:
        async with asyncio.timeout(PROBE_TIMEOUT_S):
            await self._admin.start()
            await self._consumer.start()
        self._started = True

    async def close(self) -> None:
        await asyncio.gather(self._admin.close(), self._consumer.stop(), return_exceptions=True)

    async def groups(self) -> dict[str, GroupView]:
        """Group id -> view; an empty dict (and a log line) if the broker did not answer."""
        if not self._started:
            return {}
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S):
                return await self._groups()
        except Exception as exc:  # a probe failure is a finding, not a soak failure
            log.warning("lag probe failed", bootstrap=self.bootstrap, error=repr(exc))
            return {}

    async def _partitions(self) -> list[TopicPartition]:
        # From the broker each time (the consumer's own metadata covers only topics it
        # has been asked about, which on Kafka is none at first).
        described = await self._admin.describe_topics(sorted(await self._admin.list_topics()))
        return [
            TopicPartition(topic["topic"], partition["partition"])
            for topic in described
            for partition in topic["partitions"]
        ]

    async def _groups(self) -> dict[str, GroupView]:
        listed = await self._admin.list_consumer_groups()
        ids = sorted(str(entry[0]) for entry in listed)
        if not ids:
            return {}
        # Partitions named and groups described one at a time: Tansu's answers to the
        # all-partitions and many-groups forms are not decodable by aiokafka.
        partitions = await self._partitions()
        ends = await self._consumer.end_offsets(partitions)
        views = {}
        for group in ids:
            states = _states(await self._admin.describe_consumer_groups([group]))
            committed = await self._admin.list_consumer_group_offsets(group, partitions=partitions)
            lag = sum(
                max(0, ends.get(tp, meta.offset) - meta.offset)
                for tp, meta in committed.items()
                if meta.offset >= 0
            )
            state, members = states.get(group, ("?", 0))
            views[group] = GroupView(state=state, members=members, lag=lag)
        return views


def _states(responses: list[Any]) -> dict[str, tuple[str, int]]:
    """Group id -> (state, members) from DescribeGroups responses (one per coordinator)."""
    found: dict[str, tuple[str, int]] = {}
    for response in responses:
        for group in response.groups:
            # (error_code, group_id, state, protocol_type, protocol, members, ...)
            found[str(group[1])] = (str(group[2]), len(group[5]))
    return found

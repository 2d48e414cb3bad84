"""Every worker's last heartbeat, as the gateway has seen them on moe.registry: /health
shows, per service, how many workers beat and how long ago the latest one did."""

from __future__ import annotations

import time
from typing import Any

from faststream.kafka import KafkaBroker

from contracts import WorkerHeartbeat
from contracts.topics import REGISTRY
from contracts.wire import FETCH_MAX_WAIT_MS

FORGET_AFTER_S = 600.0
"""A worker silent this long is taken for gone (stopped, or restarted under a new id)."""


class WorkerView:
    def __init__(self) -> None:
        self._seen: dict[str, tuple[WorkerHeartbeat, float]] = {}

    def record(self, beat: WorkerHeartbeat) -> None:
        self._seen[beat.worker_id] = (beat, time.monotonic())

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per service: workers heard from, and seconds since the latest heartbeat."""
        now = time.monotonic()
        for worker_id in [w for w, (_, at) in self._seen.items() if now - at > FORGET_AFTER_S]:
            del self._seen[worker_id]
        services: dict[str, dict[str, Any]] = {}
        for beat, at in self._seen.values():
            entry = services.setdefault(beat.service, {"workers": 0, "last_heartbeat_s": None})
            entry["workers"] += 1
            age = round(now - at, 1)
            if entry["last_heartbeat_s"] is None or age < entry["last_heartbeat_s"]:
                entry["last_heartbeat_s"] = age
        return dict(sorted(services.items()))


def attach_registry_consumer(broker: KafkaBroker, view: WorkerView) -> None:
    # No consumer group, from the latest offset: the compacted registry still holds every
    # heartbeat since its last compaction, far more than "who is alive now" needs; every
    # live worker beats again within its interval.
    @broker.subscriber(REGISTRY, auto_offset_reset="latest", fetch_max_wait_ms=FETCH_MAX_WAIT_MS)
    async def on_heartbeat(beat: WorkerHeartbeat) -> None:
        view.record(beat)

"""Every worker's liveness signal: a WorkerHeartbeat on moe.registry at a fixed interval
(the gateway's /health shows each service's last one) and, when configured, a liveness
file rewritten at every beat, whose age tells a supervisor without a broker connection
that the service's event loop still runs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import structlog
from aiokafka.errors import KafkaError
from faststream.kafka import KafkaBroker
from pydantic import Field

from contracts.events import WorkerHeartbeat
from contracts.topics import REGISTRY
from contracts.wire import NotDelivered, publish_event

log = structlog.get_logger()

HEARTBEAT_INTERVAL_S = 10.0


def heartbeat_interval_setting() -> Any:
    return Field(default=HEARTBEAT_INTERVAL_S, gt=0, description="Seconds between heartbeats.")


def liveness_file_setting() -> Any:
    return Field(
        default=None,
        description="Rewritten at every heartbeat (its age shows the service is alive); "
        "unset: no file.",
    )


class Heartbeat:
    """Publishes this worker's WorkerHeartbeat every `interval_s` until stopped. A failed
    publish is logged and retried at the next beat; the liveness file is written either
    way, with the outcome: it says the process runs, not that the broker is reachable
    (the gateway's /health says that)."""

    def __init__(
        self,
        broker: KafkaBroker,
        service: str,
        worker_id: str,
        topics: Sequence[str],
        capabilities: Sequence[str] = (),
        interval_s: float = HEARTBEAT_INTERVAL_S,
        liveness_file: Path | None = None,
    ) -> None:
        self._broker = broker
        self._service, self._worker_id = service, worker_id
        self._topics, self._capabilities = list(topics), list(capabilities)
        self._interval_s = interval_s
        self._liveness_file = liveness_file
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="heartbeat")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def beat(self) -> WorkerHeartbeat:
        # Keyed by the worker id (publish_event keys by request_id): the compacted
        # registry keeps one, the latest, heartbeat per worker.
        return WorkerHeartbeat(
            request_id=self._worker_id,
            worker_id=self._worker_id,
            service=self._service,
            capabilities=self._capabilities,
            topics=self._topics,
        )

    async def beat_once(self) -> str | None:
        """Publish one heartbeat and write the liveness file; None, or why it failed."""
        beat = self.beat()
        failure: str | None = None
        try:
            await publish_event(self._broker, beat, REGISTRY)
        except (KafkaError, NotDelivered, OSError) as exc:
            failure = f"{type(exc).__name__}: {exc}"
            log.warning("heartbeat_failed", service=beat.service, error=failure)
        if self._liveness_file is not None:
            self._write_liveness(beat, failure)
        return failure

    async def run(self) -> None:
        """Beat until cancelled (start() runs this as a task of its own)."""
        while True:
            await self.beat_once()
            await asyncio.sleep(self._interval_s)

    def _write_liveness(self, beat: WorkerHeartbeat, failure: str | None) -> None:
        # A few bytes to a local file: cheaper than a thread hop, so written in place.
        assert self._liveness_file is not None
        record = {
            "service": beat.service,
            "worker_id": beat.worker_id,
            "at": time.time(),
            "heartbeat": "published" if failure is None else failure,
        }
        try:
            self._liveness_file.write_text(json.dumps(record) + "\n", encoding="utf-8")
        except OSError as exc:
            log.warning("liveness_file_failed", path=str(self._liveness_file), error=str(exc))

"""GET /health: can a request be answered? The broker must answer, and every stage must
return a canary (contracts.canary) within the timeout: planner, experts, tools, merger,
and the gateway's own reply consumer ("replies", a CanaryPong sent straight to
moe.replies). Checks are rate-limited: a report younger than `max_age_s` is served
again, and concurrent callers share the check in flight."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sized
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
import structlog
from aiokafka.errors import KafkaError
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker

from contracts import CanaryPing, CanaryPong, Event, new_id
from contracts.canary import CANARY_STAGES
from contracts.http_errors import error_body
from contracts.inference import InferenceServer
from contracts.model_load import ModelLoad, read_model_loads
from contracts.topics import REPLIES
from contracts.wire import NotDelivered, publish_event

log = structlog.get_logger()

REPLIES_STAGE = "replies"
"""The gateway's own consumer of moe.replies, checked with a pong it sends itself."""

StageStatus = Literal["ok", "no_answer", "undeliverable", "not_checked"]


@dataclass(frozen=True)
class StageResult:
    stage: str
    topic: str
    status: StageStatus
    latency_ms: float | None = None
    error: str | None = None
    service: str | None = None
    worker_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def body(self) -> dict[str, Any]:
        shown = {
            "status": self.status,
            "topic": self.topic,
            "latency_ms": self.latency_ms,
            "error": self.error,
            "service": self.service,
            "worker_id": self.worker_id,
        }
        return {key: value for key, value in shown.items() if value is not None}


@dataclass(frozen=True)
class HealthReport:
    broker_ok: bool
    broker_error: str | None
    stages: list[StageResult]
    model_loads: list[ModelLoad] = field(default_factory=list)
    checked_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    at: float = field(default_factory=time.monotonic)

    @property
    def failing(self) -> list[str]:
        return [s.stage for s in self.stages if not s.ok]

    @property
    def ok(self) -> bool:
        return self.broker_ok and not self.failing

    def reason(self) -> str | None:
        """Why a request cannot be answered now, naming the stage; None when it can."""
        if not self.broker_ok:
            return f"broker unreachable: {self.broker_error}"
        failed = [s for s in self.stages if not s.ok]
        return "; ".join(f"{s.stage}: {s.error}" for s in failed) or None


class Canaries:
    """Canaries this gateway is waiting for, resolved by the reply consumer."""

    def __init__(self) -> None:
        self._waiting: dict[str, asyncio.Future[CanaryPong]] = {}

    def __len__(self) -> int:
        return len(self._waiting)

    def deliver(self, pong: CanaryPong) -> None:
        # Every gateway reads every pong; a late one's wait has already been given up.
        waiting = self._waiting.get(pong.request_id)
        if waiting is not None and not waiting.done():
            waiting.set_result(pong)

    async def round_trip(
        self, broker: KafkaBroker, stage: str, topic: str, timeout_s: float
    ) -> StageResult:
        """Send the stage its canary and wait for the pong, all within `timeout_s`."""
        request_id = new_id("canary-")
        event: Event
        if stage == REPLIES_STAGE:
            event = CanaryPong(request_id=request_id, stage=stage, service="gateway")
        else:
            event = CanaryPing(request_id=request_id, stage=stage)
        answered = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = answered
        started = time.monotonic()
        try:
            try:
                await publish_event(broker, event, topic, timeout_s)
            except (KafkaError, NotDelivered) as exc:
                error = f"could not publish its canary to {topic}: {exc}"
                return StageResult(stage, topic, "undeliverable", error=error)
            try:
                async with asyncio.timeout(max(0.0, started + timeout_s - time.monotonic())):
                    pong = await answered
            except TimeoutError:
                error = f"no answer to its canary on {topic} within {timeout_s:g} s"
                return StageResult(stage, topic, "no_answer", error=error)
        finally:
            self._waiting.pop(request_id, None)
        latency_ms = round((time.monotonic() - started) * 1000, 1)
        return StageResult(
            stage, topic, "ok", latency_ms, service=pong.service, worker_id=pong.worker_id
        )


class HealthMonitor:
    """Runs the checks, caches the last report, and optionally re-checks in the
    background so that a stage that stops answering is logged even when nobody asks.
    Each check also reads every model server's load (busy slots, queue): shown, not
    judged, since precision tools and cached answers need no model."""

    def __init__(
        self,
        broker: KafkaBroker,
        kafka_url: str,
        canaries: Canaries,
        stages: list[str],
        timeout_s: float,
        max_age_s: float,
        model_servers: list[InferenceServer] | None = None,
    ) -> None:
        self._broker, self._kafka_url = broker, kafka_url
        self._canaries = canaries
        self._stages = {REPLIES_STAGE: REPLIES, **{s: CANARY_STAGES[s] for s in stages}}
        self._timeout_s = timeout_s
        self._max_age_s = max_age_s
        self._model_servers = model_servers or []
        self._http = httpx.AsyncClient()
        self._last: HealthReport | None = None
        self._running: asyncio.Task[HealthReport] | None = None

    async def aclose(self) -> None:
        await self._http.aclose()

    async def report(self) -> HealthReport:
        last = self._last
        if last is not None and time.monotonic() - last.at < self._max_age_s:
            return last
        if self._running is None:
            self._running = asyncio.create_task(self._check(), name="health-check")
            self._running.add_done_callback(self._finished)
        # Shielded: a caller that goes away must not cancel the check others wait for.
        return await asyncio.shield(self._running)

    def _finished(self, task: asyncio.Task[HealthReport]) -> None:
        self._running = None
        if not task.cancelled() and task.exception() is None:
            self._last = task.result()

    async def watch(self, interval_s: float) -> None:
        """Check every `interval_s` until cancelled (failures are logged by the check)."""
        while True:
            await self.report()
            await asyncio.sleep(interval_s)

    async def _check(self) -> HealthReport:
        loads, report = await asyncio.gather(
            read_model_loads(self._model_servers, self._http, self._timeout_s),
            self._check_pipeline(),
        )
        return replace(report, model_loads=loads)

    async def _check_pipeline(self) -> HealthReport:
        if not await self._broker.ping(timeout=self._timeout_s):
            error = f"no answer from {self._kafka_url} within {self._timeout_s:g} s"
            log.warning("broker_unreachable", error=error)
            skipped = [
                StageResult(s, t, "not_checked", error="broker unreachable")
                for s, t in self._stages.items()
            ]
            return HealthReport(False, error, skipped)
        results = await asyncio.gather(
            *(
                self._canaries.round_trip(self._broker, stage, topic, self._timeout_s)
                for stage, topic in self._stages.items()
            )
        )
        for result in results:
            if not result.ok:
                log.warning("stage_not_answering", stage=result.stage, error=result.error)
        return HealthReport(True, None, list(results))


def health_response(
    report: HealthReport | None,
    not_connected: str | None,
    workers: dict[str, dict[str, Any]],
    pending: Sized,
) -> JSONResponse:
    """The /health answer: 200 with every stage's status and latency when a request can
    be answered; otherwise 503, with an OpenAI error object naming what cannot answer."""
    body: dict[str, Any] = {"status": "ok", "in_flight": len(pending)}
    if report is None:
        reason: str | None = not_connected or "not connected to the broker"
        body["broker"] = {"status": "unreachable", "error": reason}
    else:
        reason = report.reason()
        body["checked_at"] = report.checked_at.isoformat()
        body["age_s"] = round(time.monotonic() - report.at, 1)
        body["broker"] = {"status": "ok"}
        if not report.broker_ok:
            body["broker"] = {"status": "unreachable", "error": report.broker_error}
        body["stages"] = {s.stage: s.body() for s in report.stages}
        body["model_servers"] = {
            load.server: load.model_dump(exclude={"server"}, exclude_none=True)
            for load in report.model_loads
        }
        if report.failing:
            body["failing"] = report.failing
    body["workers"] = workers
    if reason is None:
        return JSONResponse(body)
    body["status"] = "unavailable"
    message = f"A request cannot be answered now: {reason}."
    body.update(error_body(503, message, "service_unavailable", None))
    return JSONResponse(body, status_code=503)

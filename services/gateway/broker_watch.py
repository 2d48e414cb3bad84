"""While requests wait for their replies, the gateway checks that the broker still
answers. Once it has been unreachable for a while, every waiting request ends with a 503
that says so, rather than at its deadline (120 s by default) with a 504 that does not."""

from __future__ import annotations

import asyncio
import time

import structlog
from faststream.kafka import KafkaBroker

from contracts import ReplyError
from services.gateway.replies import PendingReplies

log = structlog.get_logger()


class BrokerWatch:
    def __init__(
        self, broker: KafkaBroker, pending: PendingReplies, check_s: float, lost_after_s: float
    ) -> None:
        self._broker, self._pending = broker, pending
        self._check_s, self._lost_after_s = check_s, lost_after_s
        self._unreachable_since: float | None = None

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._check_s)
            if not len(self._pending):  # nobody waits: nothing to check, nothing to cost
                self._unreachable_since = None
                continue
            await self.check()

    async def check(self) -> None:
        if await self._broker.ping(timeout=self._check_s):
            if self._unreachable_since is not None:
                log.info("broker_reachable_again")
            self._unreachable_since = None
            return
        now = time.monotonic()
        self._unreachable_since = self._unreachable_since or now
        waited = now - self._unreachable_since
        log.warning("broker_unreachable_while_waiting", waiting=len(self._pending), for_s=waited)
        if waited >= self._lost_after_s and (failed := self._pending.fail_all(self._lost)):
            log.error("waiting_requests_failed", requests=failed, reason="broker unreachable")

    def _lost(self, request_id: str) -> ReplyError:
        return ReplyError(
            request_id=request_id,
            status=503,
            code="service_unavailable",
            message=(
                f"Lost the broker while waiting for the reply: unreachable for "
                f"{self._lost_after_s:g} s. The request may have been answered in part; "
                "retry it."
            ),
        )

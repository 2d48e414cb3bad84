"""The gateway's broker connection, made in the background so that the HTTP API serves
from the start: while the broker cannot be reached, requests get a 503 that says so
(and /health names the broker) instead of connections refused by a gateway that could
not start."""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from aiokafka.errors import KafkaError
from faststream.kafka import KafkaBroker

from contracts.lifecycle import bounded
from services.gateway.reply_consumer import ReplySource

log = structlog.get_logger()

FIRST_RETRY_S = 0.5
MAX_RETRY_S = 10.0
ATTEMPT_TIMEOUT_S = 15.0
"""One attempt: bootstrap, join, and the reply consumer's start offsets resolved."""


class BrokerConnection:
    def __init__(self, broker: KafkaBroker, replies: ReplySource, kafka_url: str) -> None:
        self._broker, self._replies, self.kafka_url = broker, replies, kafka_url
        self.ready = False
        self.last_error: str | None = None
        self._first_attempt = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connect in the background; return once connected or the first attempt failed."""
        self._task = asyncio.create_task(self._connect(), name="gateway-connect")
        await self._first_attempt.wait()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.ready = False
        await self._replies.stop()
        await bounded(self._broker.stop, "gateway broker stop")

    def unavailable(self) -> str:
        """Why no request can be sent now."""
        return f"not connected to the broker at {self.kafka_url} ({self.last_error})"

    async def _connect(self) -> None:
        retry_s = FIRST_RETRY_S
        while True:
            try:
                async with asyncio.timeout(ATTEMPT_TIMEOUT_S):
                    await self._broker.start()
                    # Replies published after this point reach the reply reader.
                    await self._replies.start()
            except (KafkaError, OSError, TimeoutError) as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning(
                    "broker_unreachable", url=self.kafka_url, error=self.last_error, retry_s=retry_s
                )
                await self._replies.stop()
                await bounded(self._broker.stop, "gateway broker stop after a failed start")
            else:
                self.ready, self.last_error = True, None
                log.info("broker_connected", url=self.kafka_url)
                return
            finally:
                self._first_attempt.set()
            await asyncio.sleep(retry_s)
            retry_s = min(retry_s * 2, MAX_RETRY_S)

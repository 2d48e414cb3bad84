"""Closed-loop throughput: `concurrency` clients each send the next streamed request as
soon as the previous one finishes, for a fixed time; completed requests per second and
errors are counted."""

from __future__ import annotations

import asyncio
import time

from pydantic import BaseModel, ConfigDict

from bench.client import Endpoint, new_client, timed_chat
from bench.latency import question
from bench.stats import Distribution


class ThroughputRun(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str
    concurrency: int
    seconds: float
    completed: int
    errors: int
    requests_per_s: float
    latency: Distribution
    last_error: str | None = None


async def closed_loop(endpoint: Endpoint, concurrency: int, seconds: float) -> ThroughputRun:
    totals: list[float] = []
    errors: list[str] = []
    deadline = time.perf_counter() + seconds

    async with new_client(concurrency) as client:

        async def one_client(worker: int) -> None:
            sent = 0
            while time.perf_counter() < deadline:
                asked = question(worker * 1_000_000 + sent, f"{endpoint.name}-c{concurrency}")
                timing = await timed_chat(client, endpoint, asked)
                sent += 1
                if timing.ok:
                    totals.append(timing.total_s)
                else:
                    errors.append(timing.error or "failed")

        started = time.perf_counter()
        # Requests started before the deadline finish and count: the elapsed time
        # includes them, so the rate is not inflated.
        await asyncio.gather(*(one_client(worker) for worker in range(concurrency)))
        elapsed = time.perf_counter() - started
    return ThroughputRun(
        path=endpoint.name,
        concurrency=concurrency,
        seconds=round(elapsed, 3),
        completed=len(totals),
        errors=len(errors),
        requests_per_s=round(len(totals) / elapsed, 2),
        latency=Distribution.of_seconds(totals),
        last_error=errors[-1] if errors else None,
    )

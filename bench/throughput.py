"""Closed-loop throughput: `concurrency` clients each send the next streamed request as
soon as the previous one finishes, for a fixed time; completed requests per second and
errors are counted."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field, computed_field

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
    empty: int = Field(
        default=0, description="Answers that ended without content: neither completed nor errors."
    )
    ttft: Distribution = Field(
        default_factory=Distribution, description="Time to first token of completed requests."
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def empty_share(self) -> float | None:
        """Empty answers among all the requests sent."""
        sent = self.completed + self.empty + self.errors
        return round(self.empty / sent, 4) if sent else None


async def closed_loop(
    endpoint: Endpoint,
    concurrency: int,
    seconds: float,
    ask: Callable[[int], str] | None = None,
    max_tokens: int | None = None,
) -> ThroughputRun:
    """`ask(n)` is the n-th request's question (unique by default, so that no answer
    comes from the cache)."""
    totals: list[float] = []
    ttfts: list[float] = []
    errors: list[str] = []
    empty = 0

    async with new_client(concurrency) as client:
        # From here: making the client (an SSL context among others) is not load, and
        # on a busy host it could take up a short run's whole window.
        deadline = time.perf_counter() + seconds

        async def one_client(worker: int) -> None:
            nonlocal empty
            sent = 0
            while time.perf_counter() < deadline:
                number = worker * 1_000_000 + sent
                asked = ask(number) if ask else question(number, f"{endpoint.name}-c{concurrency}")
                timing = await timed_chat(client, endpoint, asked, max_tokens)
                sent += 1
                if not timing.ok:
                    errors.append(timing.error or "failed")
                elif not timing.content or timing.ttft_s is None:
                    empty += 1
                else:
                    totals.append(timing.total_s)
                    ttfts.append(timing.ttft_s)

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
        empty=empty,
        ttft=Distribution.of_seconds(ttfts),
    )

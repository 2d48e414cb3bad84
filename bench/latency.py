"""Sequential latency of the single-expert path: the same streamed request sent to the
model server directly, through our gateway and through LiteLLM, in rotating order so
that drift on the machine affects every path alike."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import httpx

from bench.client import Endpoint, Timing, timed_chat


@dataclass
class PathSamples:
    """What one path's requests measured, in seconds."""

    ttft: list[float] = field(default_factory=list)
    total: list[float] = field(default_factory=list)
    relay: list[float] = field(default_factory=list)
    errors: int = 0
    last_error: str | None = None
    max_tokens_per_event: int = 0
    timings: list[Timing] = field(default_factory=list)

    def add(self, timing: Timing) -> None:
        if not timing.ok or timing.ttft_s is None:
            self.errors += 1
            self.last_error = timing.error or "no content"
            return
        self.timings.append(timing)
        self.ttft.append(timing.ttft_s)
        self.total.append(timing.total_s)
        self.relay.extend(timing.relay_s)
        self.max_tokens_per_event = max(self.max_tokens_per_event, timing.max_tokens_per_event)


def question(index: int, run: str = "latency") -> str:
    # Not arithmetic, so the planner sends it to an expert (the single-expert path);
    # never asked twice in a benchmark run, so the answer cache cannot serve it.
    return f"Explain event sourcing in two sentences (benchmark {run}, request {index})."


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """This process's garbage collector off while one request is timed; it runs between
    requests instead, where nothing is timed. A full collection paused the client for up
    to 90 ms in a relay round: every token of whichever path was streaming then arrived
    late by as much, and one request's 16 tokens are most of the 1 % of a path's tokens
    that set its p99. (The timeit module turns it off while timing for the same reason.)"""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def measure_paths(
    client: httpx.AsyncClient, endpoints: Sequence[Endpoint], requests: int, warmup: int
) -> dict[str, PathSamples]:
    """`requests` measured requests per endpoint, after `warmup` unmeasured ones (they
    open connections and warm consumers' fetch sessions)."""
    for index in range(warmup):
        for endpoint in endpoints:
            await timed_chat(client, endpoint, question(-1 - index))
    samples = {endpoint.name: PathSamples() for endpoint in endpoints}
    for index in range(requests):
        shift = index % len(endpoints)
        for endpoint in [*endpoints[shift:], *endpoints[:shift]]:
            with collector_paused():
                timing = await timed_chat(client, endpoint, question(index))
            samples[endpoint.name].add(timing)
    return samples

"""The planner's figures: precision-routed tool answers through the gateway (baseline:
the calculate path in the same run), identical concurrent requests coalesced onto one
model call, and the router's decision (embedding plus nearest prototype) timed in this
process with the planner's own code and model."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from hashlib import md5

import httpx

from bench.client import Endpoint, timed_chat
from bench.config import BenchConfig
from bench.latency import PathSamples
from bench.report import Planning
from bench.stats import Compared, Distribution

ModelCalls = Callable[[], Awaitable[int]]
_numbers = itertools.count(100)
# One question per tool family beyond calculate, each with a number never asked before in
# the run (so the answer cache cannot serve it), and a fragment of its exact answer.
PRECISE: tuple[Callable[[int], tuple[str, str]], ...] = (
    lambda n: (f"Convert {n} km to m.", f"{n * 1000}"),
    lambda n: (f"What is the GCD of {n * 6} and {n * 4}?", f"{n * 2}"),
    lambda n: (f"How many days between 2000-01-01 and {date(2000, 1, 1) + timedelta(n)}?", f"{n}"),
    lambda n: (f"What is the MD5 hash of 'bench {n}'?", md5(f"bench {n}".encode()).hexdigest()),
    lambda n: (f"Which weekday is {date(2000, 1, 1) + timedelta(n)}?", ""),
)
ROUTED = (
    "What are the early signs of a stroke?",
    "Translate 'where is the train station' into German",
    "How do I compute the determinant of a 3x3 matrix?",
    "Can my employer read my private messages?",
)


async def measure_precision_path(
    client: httpx.AsyncClient, gateway: Endpoint, requests: int
) -> PathSamples:
    samples = PathSamples()
    for index in range(requests):
        question, expected = PRECISE[index % len(PRECISE)](next(_numbers))
        timing = await timed_chat(client, gateway, question)
        if timing.ok and expected not in timing.content:
            samples.errors += 1
            samples.last_error = f"{question!r} was not answered exactly: {timing.content!r}"
            continue
        samples.add(timing)
    return samples


async def measure_coalescing(
    client: httpx.AsyncClient, gateway: Endpoint, model_calls: ModelCalls, concurrency: int
) -> tuple[int, int]:
    """`concurrency` identical requests at once: how many answered, how many model calls."""
    question = f"Explain what coalescing identical requests saves (benchmark {time.time()})."
    before = await model_calls()
    timings = await asyncio.gather(
        *(timed_chat(client, gateway, question) for _ in range(concurrency))
    )
    answered = sum(1 for timing in timings if timing.ok and timing.content)
    return answered, await model_calls() - before


async def measure_router_decisions(requests: int) -> list[float]:
    """Seconds per decision: the question's embedding (in the embedder's worker thread,
    as the planner makes it) and the nearest category."""
    from services.planner.embeddings import LocalEmbedder
    from services.planner.router import DEFAULT_PROTOTYPES, SemanticRouter

    embedder = LocalEmbedder()
    try:
        router = SemanticRouter(embedder, DEFAULT_PROTOTYPES, 0.68, 0.10)
        await router.start()
        await embedder.embed([ROUTED[0]])  # warm
        found = []
        for index in range(requests):
            started = time.perf_counter()
            [vector] = await embedder.embed([f"{ROUTED[index % len(ROUTED)]} ({index})"])
            router.route(vector)
            found.append(time.perf_counter() - started)
        return found
    finally:
        await embedder.aclose()


def planning_report(
    config: BenchConfig,
    precision: PathSamples,
    calculate: PathSamples,
    coalesced: tuple[int, int],
    router: list[float],
) -> Planning:
    answered, calls = coalesced
    return Planning(
        precision_requests=config.tool_requests,
        precision_errors=precision.errors,
        precision=Compared.of(
            Distribution.of_seconds(precision.total), Distribution.of_seconds(calculate.total)
        ),
        coalesced_requests=config.coalesce_requests,
        coalesced_answered=answered,
        coalesced_model_calls=calls,
        router_decision=Distribution.of_seconds(router),
    )

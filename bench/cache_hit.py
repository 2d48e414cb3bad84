"""A repeated question: asked once (the model answers it and the answer is committed),
then again until the planner's cache serves it, then timed end to end. Every timed
request must come back without a model call; one that does not counts as an error."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx

from bench.client import Endpoint, timed_chat
from bench.latency import PathSamples

QUESTION = "What does the answer cache save? (benchmark)"
ModelCalls = Callable[[], Awaitable[int]]


async def wait_until_cached(
    client: httpx.AsyncClient,
    gateway: Endpoint,
    model_calls: ModelCalls,
    timeout_s: float,
    question: str = QUESTION,
) -> None:
    """The cache is a view of moe.answers that trails it by up to its fetch wait."""
    deadline = time.monotonic() + timeout_s
    while True:
        before = await model_calls()
        timing = await timed_chat(client, gateway, question)
        if timing.ok and await model_calls() == before:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{question!r} was never answered from the cache")
        await asyncio.sleep(0.05)


async def measure_cache_hit(
    client: httpx.AsyncClient, gateway: Endpoint, model_calls: ModelCalls, requests: int
) -> tuple[PathSamples, int]:
    """Samples of the repeated question and how many model calls they caused (0)."""
    await wait_until_cached(client, gateway, model_calls, 30)
    before = await model_calls()
    samples = PathSamples()
    for _ in range(requests):
        samples.add(await timed_chat(client, gateway, QUESTION))
    return samples, await model_calls() - before

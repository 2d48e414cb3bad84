"""The no-model path: plain arithmetic that the planner routes to the calculate tool.

It is not a cache hit, but it has a cache hit's shape (no model call, answer produced
inside the pipeline), so it shows what the pipeline's hops cost with nothing else in the
way. Baseline: the same tool called directly over the tools service's REST API."""

from __future__ import annotations

import time

import httpx

from bench.client import Endpoint, timed_chat
from bench.latency import PathSamples


async def wait_for_tool_route(
    client: httpx.AsyncClient, gateway: Endpoint, question: str, answer: str, timeout_s: float
) -> None:
    """Until the planner has learned the tool catalog (it polls the tools service), an
    arithmetic question still goes to a model; wait until it is answered by the tool."""
    deadline = time.monotonic() + timeout_s
    while True:
        timing = await timed_chat(client, gateway, question)
        if timing.ok and answer in timing.content:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"the tool path never answered {question!r} with {answer}")


async def measure_tool_path(
    client: httpx.AsyncClient, gateway: Endpoint, question: str, requests: int
) -> PathSamples:
    samples = PathSamples()
    for _ in range(requests):
        samples.add(await timed_chat(client, gateway, question))
    return samples


async def measure_direct_tool(
    client: httpx.AsyncClient, tools_url: str, expression: str, requests: int
) -> PathSamples:
    samples = PathSamples()
    body = {"tool": "calculate", "args": {"expression": expression}}
    for _ in range(requests):
        started = time.perf_counter()
        try:
            response = await client.post(f"{tools_url}/invoke", json=body)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            samples.errors += 1
            samples.last_error = f"{type(exc).__name__}: {exc}"
            continue
        elapsed = time.perf_counter() - started
        samples.ttft.append(elapsed)
        samples.total.append(elapsed)
    return samples

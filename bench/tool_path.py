"""The no-model path: plain arithmetic that the planner routes to the calculate tool.

It shows what the pipeline's hops cost with a worker that answers at once (no model
call). Every request asks a different product, so none is served by the answer cache.
Baseline: the same tool called directly over the tools service's REST API."""

from __future__ import annotations

import itertools
import time

import httpx

from bench.client import Endpoint, timed_chat
from bench.latency import PathSamples

QUESTION = "What is 17*{n}?"
_operands = itertools.count(1000)


def next_expression() -> tuple[str, str]:
    """A product not asked before in this run, and its exact value."""
    n = next(_operands)
    return f"17*{n}", str(17 * n)


async def wait_for_tool_route(
    client: httpx.AsyncClient, gateway: Endpoint, timeout_s: float
) -> None:
    """Until the planner has learned the tool catalog (it polls the tools service), an
    arithmetic question still goes to a model; wait until it is answered by the tool."""
    deadline = time.monotonic() + timeout_s
    while True:
        expression, value = next_expression()
        timing = await timed_chat(client, gateway, f"What is {expression}?")
        if timing.ok and value in timing.content:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"the tool path never answered {expression} with {value}")


async def measure_tool_path(
    client: httpx.AsyncClient, gateway: Endpoint, requests: int
) -> PathSamples:
    samples = PathSamples()
    for _ in range(requests):
        expression, _ = next_expression()
        samples.add(await timed_chat(client, gateway, f"What is {expression}?"))
    return samples


async def measure_direct_tool(
    client: httpx.AsyncClient, tools_url: str, requests: int
) -> PathSamples:
    samples = PathSamples()
    for _ in range(requests):
        expression, _ = next_expression()
        body = {"tool": "calculate", "args": {"expression": expression}}
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

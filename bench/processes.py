"""Every process the benchmark measures, each on free loopback ports: the scripted model
server, the local stack (Kafka and the services, as `moe run` starts them, without the
graph DB and llama.cpp) and the LiteLLM proxy. Separate processes, so that each service
has its own memory figure and none shares the benchmark client's event loop."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import httpx
import structlog

from bench import litellm_proxy
from bench.config import BenchConfig, ModelTiming
from bench.pipeline import ESCALATION_CATEGORY
from contracts.inference import ExpertModel, InferenceServer
from deploy.local import Component, LocalStack, StackConfig, free_port
from deploy.local.errors import StackError
from deploy.local.health import http_ok

log = structlog.get_logger("bench")

REPO = Path(__file__).resolve().parent.parent
SCRIPTED_ENDPOINT = "scripted"
SCRIPTED_MODEL = "scripted-general"


@dataclass
class Processes:
    stack: LocalStack
    scripted: Component
    litellm: Component | None
    litellm_reason: str | None
    first_start_s: float | None = None
    """The stack's first start: broker log formatted, topics created, services up."""

    @property
    def scripted_url(self) -> str:
        return f"{self.scripted.url}/v1"

    @property
    def gateway_url(self) -> str:
        return self.stack.config.api_url

    @property
    def bootstrap(self) -> str:
        return self.stack.config.bootstrap

    async def restart_stack(self) -> float:
        """Stop the stack and start it again on the same broker log (a warm restart, as
        `moe run` after Ctrl-C); the seconds until it was up again."""
        await self.stack.stop()
        self.stack = LocalStack(self.stack.config.model_copy(update={"fresh": False}))
        return await _timed(self.stack.start())

    def pids(self) -> dict[str, int]:
        found = [*self.stack.components, self.scripted, *([self.litellm] if self.litellm else [])]
        return {c.name: c.pid for c in found if c.pid is not None}

    async def set_script(self, timing: ModelTiming) -> None:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.put(
                f"{self.scripted.url}/_scripted/script", json=timing.script()
            )
            response.raise_for_status()

    async def model_calls(self) -> int:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(f"{self.scripted.url}/_scripted/calls")
            response.raise_for_status()
            return int(response.json()["count"])


def scripted_component(port: int, log_dir: Path) -> Component:
    base = f"http://127.0.0.1:{port}"
    return Component(
        name="scripted-model",
        command=[sys.executable, "-m", "bench.scripted_server", "--port", str(port)],
        log_path=log_dir / "scripted-model.log",
        health=partial(http_ok, f"{base}/v1/models"),
        ports={"scripted model port": port},
        url=base,
        cwd=REPO,
    )


def stack_config(log_dir: Path, scripted_url: str) -> StackConfig:
    return StackConfig(
        broker_port=free_port(),
        controller_port=free_port(),
        state_dir=log_dir / "state",
        fresh=True,  # every run measures an empty broker
        gateway_port=free_port(),
        tools_port=free_port(),
        log_dir=log_dir,
        start_graphdb=False,
        start_llm=False,
        # The latency and throughput questions are paraphrases of each other by design
        # (one text, a request number): a semantic cache would answer them all.
        semantic_cache=False,
        # The single-expert path is measured: the scripted judge would otherwise plan.
        llm_planner=False,
        inference_servers=[InferenceServer(name=SCRIPTED_ENDPOINT, url=scripted_url)],
        model=SCRIPTED_MODEL,
        expert_models={
            "general": [ExpertModel(model=SCRIPTED_MODEL, endpoint=SCRIPTED_ENDPOINT)],
            # The tier-escalation scenario's category (bench.pipeline.measure_escalation).
            ESCALATION_CATEGORY: [
                ExpertModel(model=f"{SCRIPTED_MODEL}-{name}", endpoint=SCRIPTED_ENDPOINT, tier=tier)
                for name, tier in (("small-a", 1), ("small-b", 1), ("large", 2))
            ],
        },
    )


@asynccontextmanager
async def running(config: BenchConfig) -> AsyncIterator[Processes]:
    """Start everything at once (start-up is mostly imports, which overlap well) and
    stop everything on the way out, whatever happened."""
    log_dir = config.log_dir.resolve()
    scripted = scripted_component(free_port(), log_dir)
    stack_cfg = stack_config(log_dir, f"{scripted.url}/v1")
    stack = LocalStack(stack_cfg)
    procs: Processes | None = None
    litellm: Component | None = None
    reason = litellm_proxy.unavailable_reason() if config.litellm else "disabled (--no-litellm)"
    if reason is None:
        path = litellm_proxy.write_config(log_dir, f"{scripted.url}/v1")
        litellm = litellm_proxy.litellm_component(free_port(), path, log_dir)
    starts = [_timed(stack.start()), scripted.start(), *([litellm.start()] if litellm else [])]
    try:
        results = await asyncio.gather(*starts, return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if litellm is not None and isinstance(results[-1], StackError):
            reason = f"LiteLLM proxy did not start: {results[-1]}"
            log.warning("litellm_unavailable", reason=reason)
            failures.remove(results[-1])
            litellm = None
        if failures:
            raise failures[0]
        first_start = results[0] if isinstance(results[0], float) else None
        procs = Processes(stack, scripted, litellm, reason, first_start_s=first_start)
        yield procs
    finally:
        await (procs.stack if procs else stack).stop()
        await asyncio.to_thread(scripted.stop)
        if litellm is not None:
            await asyncio.to_thread(litellm.stop)


async def _timed(starting: Awaitable[object]) -> float:
    began = time.perf_counter()
    await starting
    return round(time.perf_counter() - began, 2)

"""The stack of the planner-paths section (bench.planner_paths): its own broker state,
the semantic cache and the LLM planner on, no graph DB and no local model server; the
bench's scripted model server answers both the planner model and the expert, each by
its model id, and counts each one's calls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.client import Endpoint
from bench.processes import SCRIPTED_ENDPOINT, SCRIPTED_MODEL, scripted_component
from contracts.inference import ExpertModel, InferenceServer
from deploy.local import LocalStack, StackConfig, free_port

GATEWAY_MODEL = "moe-orchestrator"
PLANNER_MODEL = "scripted-planner"
"""The judge model id, so that the planner model's calls are scripted and counted apart."""
EXPERT_MODEL = SCRIPTED_MODEL


def stack_config(log_dir: Path, scripted_url: str) -> StackConfig:
    return StackConfig(
        broker_port=free_port(),
        controller_port=free_port(),
        state_dir=log_dir / "state",
        fresh=True,  # empty caches: what they serve is what this section put there
        gateway_port=free_port(),
        tools_port=free_port(),
        log_dir=log_dir,
        start_graphdb=False,
        start_llm=False,
        semantic_cache=True,
        llm_planner=True,
        inference_servers=[InferenceServer(name=SCRIPTED_ENDPOINT, url=scripted_url)],
        model=EXPERT_MODEL,
        expert_models={"general": [ExpertModel(model=EXPERT_MODEL, endpoint=SCRIPTED_ENDPOINT)]},
        judge_model=PLANNER_MODEL,
        judge_endpoint=SCRIPTED_ENDPOINT,
    )


@dataclass(frozen=True)
class ScriptedControl:
    """The scripted model server's control endpoint."""

    url: str

    async def script(self, default: dict[str, Any], models: dict[str, dict[str, Any]]) -> None:
        """`default` for every model id not in `models`; the call counts start again."""
        async with httpx.AsyncClient(timeout=10) as client:
            body = {**default, "models": models}
            response = await client.put(f"{self.url}/_scripted/script", json=body)
            response.raise_for_status()

    async def calls_by_model(self) -> dict[str, int]:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(f"{self.url}/_scripted/calls")
            response.raise_for_status()
            return {name: int(count) for name, count in response.json()["by_model"].items()}

    async def calls(self) -> int:
        return sum((await self.calls_by_model()).values())


@dataclass(frozen=True)
class PlannerStack:
    gateway: Endpoint
    scripted_url: str
    """The scripted model server's OpenAI-compatible base URL (ending in /v1)."""
    control: ScriptedControl
    bootstrap: str
    """The stack's broker, to record the measured requests' events."""


@asynccontextmanager
async def planner_stack(log_dir: Path) -> AsyncIterator[PlannerStack]:
    """The scripted model server and the stack, started together, stopped on the way out."""
    scripted = scripted_component(free_port(), log_dir)
    stack = LocalStack(stack_config(log_dir, f"{scripted.url}/v1"))
    try:
        started = await asyncio.gather(stack.start(), scripted.start(), return_exceptions=True)
        failures = [result for result in started if isinstance(result, BaseException)]
        if failures:
            raise failures[0]
        yield PlannerStack(
            gateway=Endpoint("gateway", stack.config.api_url, GATEWAY_MODEL),
            scripted_url=f"{scripted.url}/v1",
            control=ScriptedControl(scripted.url or ""),
            bootstrap=stack.config.bootstrap,
        )
    finally:
        await stack.stop()
        await asyncio.to_thread(scripted.stop)

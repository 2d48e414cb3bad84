"""A stack of its own for planner tests that need planner settings the shared session
stack does not run with (semantic cache, LLM planner, several planners): its own Kafka
broker, planners, experts and merger, the tools service when asked for, and a gateway."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts.inference import ExpertModel, InferenceServer
from deploy.local import free_port
from services.experts.app import create_app as create_experts
from services.experts.settings import ExpertSettings
from services.gateway.app import create_app as create_gateway
from services.gateway.settings import GatewaySettings
from services.merger.app import create_app as create_merger
from services.merger.settings import MergerSettings
from services.planner.app import create_app as create_planner
from services.planner.settings import PlannerSettings
from services.planner.tool_catalog import ToolCatalog
from services.tools.app import create_app as create_tools
from services.tools.settings import ToolsSettings
from tests.support.broker import running_broker
from tests.support.servers import serve
from tests.support.tool_catalogs import wait_for_tools

SCRIPTED = "scripted"


@dataclass(frozen=True)
class PlannerStack:
    kafka_url: str
    gateway_url: str


@asynccontextmanager
async def planner_stack(
    state: Path,
    model_url: str,
    planners: int = 1,
    tools: bool = True,
    api_keys: dict[str, str] | None = None,
    **planner: Any,
) -> AsyncIterator[PlannerStack]:
    """`planners` planner instances (one consumer group) with `planner` settings; the
    scripted model server at `model_url` answers as experts (`scripted-general`), judge
    (`scripted-judge`) and planner model (`scripted-planner`)."""
    servers = [InferenceServer(name=SCRIPTED, url=f"{model_url}/v1", timeout=10)]
    planner.setdefault("llm_planner", False)  # on by default for a scripted judge
    async with running_broker(state / "kafka") as kafka_url, AsyncExitStack() as stack:
        tools_port = free_port()
        catalog_url = f"http://127.0.0.1:{tools_port}" if tools else ""
        catalogs = [ToolCatalog(catalog_url) for _ in range(planners)]
        apps = [
            create_planner(
                PlannerSettings(
                    kafka_url=kafka_url,
                    inference_servers=servers,
                    judge_model="scripted-planner",
                    judge_endpoint=SCRIPTED,
                    **planner,
                ),
                catalog=catalog,
            )
            for catalog in catalogs
        ]
        apps.append(
            create_experts(
                ExpertSettings(
                    kafka_url=kafka_url,
                    inference_servers=servers,
                    expert_models={
                        "general": [ExpertModel(model="scripted-general", endpoint=SCRIPTED)]
                    },
                )
            )
        )
        apps.append(
            create_merger(
                MergerSettings(
                    kafka_url=kafka_url,
                    inference_servers=servers,
                    judge_model="scripted-judge",
                    judge_endpoint=SCRIPTED,
                )
            )
        )
        starting = [stack.enter_async_context(app) for app in apps]
        if tools:
            settings = ToolsSettings(kafka_url=kafka_url, port=tools_port, pool_size=1)
            starting.append(stack.enter_async_context(serve(create_tools(settings), tools_port)))
        await asyncio.gather(*starting)
        if tools:
            await wait_for_tools(catalogs, catalog_url)
        gateway = GatewaySettings(kafka_url=kafka_url, reply_timeout_s=20, api_keys=api_keys or {})
        gateway_url = await stack.enter_async_context(serve(create_gateway(gateway)))
        yield PlannerStack(kafka_url, gateway_url)

"""Integration lane: a real Apache Kafka broker on free ports, the scripted model server over
real HTTP, and the services running against them over real connections."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest

from bench.scripted_llm import ScriptedModel, create_scripted_app
from contracts import new_id
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
from tests.support.graphdb import running_graphdb
from tests.support.servers import serve
from tests.support.tool_catalogs import wait_for_tools


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.path):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
async def kafka_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    async with running_broker(tmp_path_factory.mktemp("kafka")) as url:
        yield url


@pytest.fixture(scope="module")
async def falkordb_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A real FalkorDB of the module's own (it starts in under a second): over Bolt,
    FalkorDB 4.16 serves one graph per server (named `db`, whatever database a session
    names), so modules cannot share a server and keep their graphs apart."""
    async with running_graphdb(tmp_path_factory.mktemp("falkordb")) as (_, url):
        yield url


@pytest.fixture(scope="session")
async def scripted_server() -> AsyncIterator[tuple[ScriptedModel, str]]:
    model = ScriptedModel()
    async with serve(create_scripted_app(model)) as url:
        yield model, url


@pytest.fixture
def scripted(scripted_server: tuple[ScriptedModel, str]) -> ScriptedModel:
    model, _ = scripted_server
    model.reset()
    return model


def expert_settings(kafka_url: str, model_url: str) -> ExpertSettings:
    return ExpertSettings(
        kafka_url=kafka_url,
        inference_servers=[InferenceServer(name="scripted", url=f"{model_url}/v1", timeout=10)],
        expert_models={"general": [ExpertModel(model="scripted-general", endpoint="scripted")]},
    )


def merger_settings(kafka_url: str, model_url: str) -> MergerSettings:
    """The judge is the same scripted server the experts use, asked for its own model id."""
    return MergerSettings(
        kafka_url=kafka_url,
        inference_servers=[InferenceServer(name="scripted", url=f"{model_url}/v1", timeout=10)],
        judge_model="scripted-judge",
        judge_endpoint="scripted",
    )


@pytest.fixture(scope="session")
async def workers(
    kafka_url: str, scripted_server: tuple[ScriptedModel, str]
) -> AsyncIterator[None]:
    """Planner, expert, tools and merger workers on the real broker; the planner learns
    the tool catalog from the tools service over HTTP."""
    _, model_url = scripted_server
    tools_port = free_port()
    tools_url = f"http://127.0.0.1:{tools_port}"
    catalog = ToolCatalog(tools_url)
    tools = create_tools(
        ToolsSettings(kafka_url=kafka_url, port=tools_port, pool_size=1, worker_id=new_id("tools-"))
    )
    apps = [
        create_planner(PlannerSettings(kafka_url=kafka_url), catalog=catalog),
        create_experts(expert_settings(kafka_url, model_url)),
        create_merger(merger_settings(kafka_url, model_url)),
    ]
    async with AsyncExitStack() as stack:
        # Concurrently: each consumer group takes a moment to join.
        await asyncio.gather(
            stack.enter_async_context(serve(tools, tools_port)),
            *(stack.enter_async_context(app) for app in apps),
        )
        await wait_for_tools([catalog], tools_url)
        yield


@pytest.fixture(scope="session")
async def gateway_url(kafka_url: str, workers: None) -> AsyncIterator[str]:
    async with serve(
        create_gateway(GatewaySettings(kafka_url=kafka_url, reply_timeout_s=20))
    ) as url:
        yield url

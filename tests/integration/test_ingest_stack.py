"""The ingest service as the local stack runs it: `python -m services.ingest` started by
the launcher beside FalkorDB, with the environment deploy/local gives it, the real base
ontology, and the gateway's /v1/graph routes and the planner's graph tasks wired to it.
A stack of its own (its own broker): the real ontology's terms must not reach the
session planner."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bench.scripted_llm import ScriptedModel
from contracts.inference import ExpertModel, InferenceServer
from contracts.topics import PLANS
from deploy.local import LocalStack, StackConfig, free_port
from deploy.local.graphdb import MAX_BOLT_PORT
from services.ingest.ontology import load_ontology
from services.ingest.settings import ONTOLOGY_FILE
from tests.support.ingest import eventually
from tests.support.topics import first_event


@pytest.fixture(scope="module")
async def stack(
    tmp_path_factory: pytest.TempPathFactory, scripted_server: tuple[ScriptedModel, str]
) -> AsyncIterator[LocalStack]:
    _, url = scripted_server
    work = Path(tmp_path_factory.mktemp("graph-stack"))
    config = StackConfig(
        broker_port=free_port(),
        controller_port=free_port(),
        graph_port=free_port(),
        bolt_port=free_port(max_port=MAX_BOLT_PORT),
        gateway_port=free_port(),
        tools_port=free_port(),
        ingest_port=free_port(),
        state_dir=work / "state",
        log_dir=work / "logs",
        start_llm=False,
        inference_servers=[InferenceServer(name="scripted", url=f"{url}/v1", timeout=10)],
        model="scripted-general",
        expert_models={"general": [ExpertModel(model="scripted-general", endpoint="scripted")]},
        # The question is asked again until the planner has read the graph's terms: the
        # semantic cache would answer the repeats, which differ by a number only.
        semantic_cache=False,
    )
    async with LocalStack(config) as running:
        yield running


async def test_the_stack_runs_ingest_behind_the_gateway_and_the_planner(
    stack: LocalStack, scripted: ScriptedModel
) -> None:
    ingest = stack.component("ingest")
    assert ingest.running and (await ingest.probe(liveness=True))[0]
    gateway = stack.config.api_url.removesuffix("/v1")
    ontology = load_ontology(ONTOLOGY_FILE)
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as client:
        stats = (await client.get("/v1/graph/stats")).json()
        assert stats["entities"]["total"] == len(ontology.entities)
        assert stats["relations"]["total"] == len(ontology.relations)

        async def graph_plan() -> dict[str, object] | None:
            question = f"Is aspirin safe with warfarin? ({len(scripted.calls)})"
            body = {
                "model": "moe-orchestrator",
                "messages": [{"role": "user", "content": question}],
            }
            response = await client.post("/v1/chat/completions", json=body)
            assert response.status_code == 200, response.text
            request_id = response.json()["id"].removeprefix("chatcmpl-")
            plan = await first_event(stack.config.bootstrap, PLANS, request_id)
            return plan if any(t["worker"] == "graph" for t in plan["tasks"]) else None

        await eventually(graph_plan, timeout_s=60)
    judged = [c for c in scripted.calls if c["model"] == "scripted-general"]
    prompts = [c["messages"][-1]["content"] for c in judged]
    assert any("- Aspirin INTERACTS_WITH Warfarin" in prompt for prompt in prompts)

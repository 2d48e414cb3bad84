"""The knowledge graph going away and coming back, on the real broker with a FalkorDB of
this module's own: a request naming a graph term is still answered while the graph is
down (the graph task returns an error result), an answer committed meanwhile is learned
once the graph is back, and the service reconnects to the restarted (empty) FalkorDB and
loads the base ontology again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.scripted_llm import Script, ScriptedModel
from contracts import AnswerCommitted, new_id
from contracts.topics import ANSWERS, PLANS, RESULTS
from deploy.local import Component, free_port
from services.ingest.app import create_app as create_ingest
from tests.support.graphdb import running_graphdb
from tests.support.ingest import (
    EXTRACTOR,
    eventually,
    ingest_settings,
    triples_output,
    write_test_ontology,
)
from tests.support.servers import serve
from tests.support.topics import first_event, publish_events, read_topic


@pytest.fixture(scope="module")
async def graphdb(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Component, str]]:
    async with running_graphdb(tmp_path_factory.mktemp("falkordb-outage")) as running:
        yield running


@pytest.fixture(scope="module")
async def ingest_url(
    kafka_url: str,
    graphdb: tuple[Component, str],
    scripted_server: tuple[ScriptedModel, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[str]:
    _, bolt_url = graphdb
    _, model_url = scripted_server
    port = free_port()
    ontology = write_test_ontology(Path(tmp_path_factory.mktemp("ontology")))
    settings = ingest_settings(kafka_url, bolt_url, model_url, ontology, port)
    async with serve(create_ingest(settings), port) as url:
        await eventually(lambda: _status(url, 200))
        yield url


async def _status(url: str, status: int) -> bool:
    async with httpx.AsyncClient(base_url=url) as client:
        return (await client.get("/health")).status_code == status


async def _ask(gateway_url: str, question: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30) as client:
        response = await client.post(
            "/v1/chat/completions",
            json={"model": "moe-orchestrator", "messages": [{"role": "user", "content": question}]},
        )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_graph_down_the_request_is_answered_and_learning_catches_up(
    kafka_url: str,
    gateway_url: str,
    ingest_url: str,
    graphdb: tuple[Component, str],
    scripted: ScriptedModel,
) -> None:
    falkordb, _ = graphdb
    falkordb.stop()
    await eventually(lambda: _status(ingest_url, 503))

    # A question naming a graph term: its plan has a graph task (once the planner's view
    # has the terms), which fails fast; the expert's answer is given without it.
    plan: dict[str, Any] = {}
    for attempt in range(20):
        completion = await _ask(gateway_url, f"Does Frobnicil help? (outage {attempt})")
        assert completion["choices"][0]["message"]["content"] == "".join(scripted.script.tokens)
        request_id = completion["id"].removeprefix("chatcmpl-")
        plan = await first_event(kafka_url, PLANS, request_id)
        if any(task["worker"] == "graph" for task in plan["tasks"]):
            break
    results = await read_topic(kafka_url, RESULTS, plan["request_id"], 2)
    [graph] = [event for event, _ in results if event["category"] == "graph"]
    assert graph["error"].startswith("knowledge graph unavailable")

    # An answer committed while the graph is down waits on moe.answers (not lost) ...
    tenant = new_id("tenant-outage-")
    scripted.reset(
        Script(
            tokens=triples_output(
                {
                    "subject": "Grommetine",
                    "subject_type": "Drug",
                    "relation": "TREATS",
                    "object": "Shimmer syndrome",
                    "object_type": "Condition",
                }
            )
        )
    )
    taught = AnswerCommitted(
        request_id=new_id("answered-"),
        tenant=tenant,
        response_id=new_id("chatcmpl-"),
        question="And shimmer syndrome?",
        answer="Grommetine treats shimmer syndrome.",
    )
    await publish_events(kafka_url, [(taught, ANSWERS)])

    async def extracted() -> bool:
        return any(
            c["model"] == EXTRACTOR and "Grommetine" in c["messages"][-1]["content"]
            for c in scripted.calls
        )

    await eventually(extracted)

    # ... and is learned once FalkorDB is back (empty: it keeps nothing on disk); the
    # service reconnects, loads the base ontology again and answers graph tasks.
    await falkordb.start()
    await eventually(lambda: _status(ingest_url, 200))

    async def grommetine() -> list[dict[str, Any]]:
        """The search's hits once a relation is among them: learning creates a triple's
        entities a query before its relation, and a search in between finds the entity
        alone (CI hit that window once)."""
        async with httpx.AsyncClient(base_url=ingest_url) as client:
            response = await client.get(
                "/graph/search", params={"q": "grommet"}, headers={"X-Moe-Tenant": tenant}
            )
        found: list[dict[str, Any]] = response.json().get("data", [])
        return found if any(hit["relations"] for hit in found) else []

    [hit] = await eventually(grommetine)
    assert hit["relations"] == [
        {
            "subject": "Grommetine",
            "relation": "TREATS",
            "object": "Shimmer syndrome",
            "verified": False,
        }
    ]
    async with httpx.AsyncClient(base_url=ingest_url) as client:
        stats = (await client.get("/graph/stats", headers={"X-Moe-Tenant": tenant})).json()
    # Shimmer syndrome is the ontology's entity, not a copy made for the tenant.
    assert stats["entities"]["by_type"] == {"Condition": 2, "Drug": 2}
    # Read again after each failed attempt, the answer went to the model once.
    assert len([c for c in scripted.calls if "Grommetine treats" in str(c["messages"])]) == 1

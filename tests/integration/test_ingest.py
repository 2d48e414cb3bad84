"""The knowledge graph service on the real broker, a real FalkorDB and the scripted model:
graph tasks answered with context, triples learned from committed answers (valid,
conflicting, malformed), feedback through Kafka, tenant isolation, the gateway's
/v1/graph routes, and a question naming a term getting a graph task whose block reaches
the judge."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest

from bench.scripted_llm import Script, ScriptedModel
from contracts import (
    AnswerCommitted,
    CanaryPing,
    ChatMessage,
    FeedbackGiven,
    TaskAssigned,
    TaskSpec,
    new_id,
    response_id_for,
)
from contracts.canary import CANARY_STAGES
from contracts.topics import ANSWERS, FEEDBACK, PLANS, REPLIES, RESULTS, task_topic
from deploy.local import free_port
from services.gateway.app import create_app as create_gateway
from services.gateway.settings import GatewaySettings
from services.ingest.app import create_app as create_ingest
from tests.support.ingest import (
    EXTRACTOR,
    eventually,
    ingest_settings,
    triples_output,
    write_test_ontology,
)
from tests.support.servers import serve
from tests.support.topics import first_event, publish_events

TENANT, OTHER = new_id("tenant-a-"), new_id("tenant-b-")
KEYS = {"key-a": TENANT, "key-b": OTHER}


@pytest.fixture(scope="module")
async def ingest_url(
    kafka_url: str,
    falkordb_url: str,
    scripted_server: tuple[ScriptedModel, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[str]:
    _, model_url = scripted_server
    port = free_port()
    ontology = write_test_ontology(Path(tmp_path_factory.mktemp("ontology")))
    settings = ingest_settings(kafka_url, falkordb_url, model_url, ontology, port)
    async with serve(create_ingest(settings), port) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            await eventually(lambda: _healthy(client))  # ontology loaded
        yield url


async def _healthy(client: httpx.AsyncClient) -> bool:
    return (await client.get("/health")).status_code == 200


@pytest.fixture(scope="module")
async def graph_gateway(kafka_url: str, ingest_url: str, workers: None) -> AsyncIterator[str]:
    """A gateway with API keys (two tenants) whose /v1/graph routes reach this ingest."""
    settings = GatewaySettings(
        kafka_url=kafka_url, reply_timeout_s=20, api_keys=KEYS, graph_url=ingest_url
    )
    async with serve(create_gateway(settings)) as url:
        yield url


async def graph_result(kafka_url: str, tenant: str, question: str) -> dict[str, Any]:
    request_id = new_id("graph-")
    task = TaskAssigned(
        request_id=request_id,
        tenant=tenant,
        task=TaskSpec(id=f"{request_id}:graph", task=question, category="graph", worker="graph"),
        messages=[ChatMessage(role="user", content=question)],
    )
    await publish_events(kafka_url, [(task, task_topic("graph"))])
    return await first_event(kafka_url, RESULTS, request_id)


async def search(url: str, tenant: str, q: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=url) as client:
        response = await client.get(
            "/graph/search", params={"q": q}, headers={"X-Moe-Tenant": tenant}
        )
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["data"]
    return found


async def graph_stats(url: str, tenant: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url) as client:
        response = await client.get("/graph/stats", headers={"X-Moe-Tenant": tenant})
    assert response.status_code == 200, response.text
    stats: dict[str, Any] = response.json()
    return stats


def answer(tenant: str, text: str, request_id: str | None = None) -> AnswerCommitted:
    request_id = request_id or new_id("answered-")
    return AnswerCommitted(
        request_id=request_id,
        tenant=tenant,
        response_id=new_id("chatcmpl-"),
        question="What treats glimmer fever?",
        answer=text,
    )


def extraction_calls(scripted: ScriptedModel, text: str) -> list[dict[str, Any]]:
    return [
        call
        for call in scripted.calls
        if call["model"] == EXTRACTOR and text in call["messages"][-1]["content"]
    ]


async def learned(url: str, tenant: str, name: str) -> dict[str, Any] | None:
    hits = [hit for hit in await search(url, tenant, name) if hit["name"] == name]
    return hits[0] if hits else None


async def test_a_graph_task_is_answered_with_two_hops_of_context(
    kafka_url: str, ingest_url: str
) -> None:
    result = await graph_result(kafka_url, TENANT, "Does FROBNICIL help?")
    assert result["error"] is None and result["category"] == "graph"
    lines = result["output"].splitlines()
    assert lines[0] == "[Knowledge Graph]"
    assert "- Frobnicil TREATS Glimmer fever" in lines
    assert "- Glimmer fever RELATED_TO Shimmer syndrome" in lines  # the second hop
    unknown = await graph_result(kafka_url, TENANT, "What is a teapot?")
    assert unknown["error"] == "the question names no known term" and not unknown["output"]


async def test_the_graph_stage_answers_the_gateways_canary(kafka_url: str, ingest_url: str) -> None:
    ping = CanaryPing(request_id=new_id("canary-"), stage="graph")
    await publish_events(kafka_url, [(ping, CANARY_STAGES["graph"])])
    pong = await first_event(kafka_url, REPLIES, ping.request_id)
    assert pong["kind"] == "canary.pong" and pong["service"] == "ingest"


async def test_an_answer_teaches_its_valid_triples_only(
    kafka_url: str, ingest_url: str, scripted: ScriptedModel
) -> None:
    scripted.reset(
        Script(
            tokens=triples_output(
                {  # new: stored, unverified
                    "subject": "Blorptin",
                    "subject_type": "Drug",
                    "relation": "TREATS",
                    "object": "Glimmer fever",
                    "object_type": "Condition",
                },
                {  # contradicts Frobnicil TREATS Glimmer fever: not stored, counted
                    "subject": "Frobnicil",
                    "subject_type": "Drug",
                    "relation": "CAUSES",
                    "object": "Glimmer fever",
                    "object_type": "Condition",
                },
                {  # unknown relation type: rejected
                    "subject": "Blorptin",
                    "subject_type": "Drug",
                    "relation": "CURES",
                    "object": "Shimmer syndrome",
                    "object_type": "Condition",
                },
                {"subject": "", "relation": "TREATS", "object": "Shimmer syndrome"},  # no name
            )
        )
    )
    await publish_events(kafka_url, [(answer(TENANT, "Blorptin treats glimmer fever."), ANSWERS)])

    async def conflict_recorded() -> bool:
        # The conflicting triple comes after the stored one, and the triples are stored
        # one query at a time: its record is the last thing the answer changes.
        return bool((await graph_stats(ingest_url, TENANT))["conflicts"] >= 1)

    await eventually(conflict_recorded)
    hit = await learned(ingest_url, TENANT, "Blorptin")
    assert hit is not None and hit["learned"] is True
    assert hit["relations"] == [
        {"subject": "Blorptin", "relation": "TREATS", "object": "Glimmer fever", "verified": False}
    ]
    stats = await graph_stats(ingest_url, TENANT)
    assert stats["conflicts"] == 1
    assert stats["relations"]["learned"] == 1
    frobnicil = await learned(ingest_url, TENANT, "Frobnicil")
    assert frobnicil is not None
    assert {r["relation"] for r in frobnicil["relations"]} == {"TREATS"}  # no CAUSES
    [call] = extraction_calls(scripted, "Blorptin treats glimmer fever.")
    assert call["response_format"]["type"] == "json_schema"  # structured output
    assert call["max_tokens"] == 512 and call["temperature"] == 0
    block = (await graph_result(kafka_url, TENANT, "Is Blorptin safe?"))["output"]
    assert "- Blorptin TREATS Glimmer fever (unverified)" in block.splitlines()


async def test_extraction_output_that_is_not_triples_stores_nothing(
    kafka_url: str, ingest_url: str, scripted: ScriptedModel
) -> None:
    scripted.reset(Script(tokens=['{"triples": "Quarzine TREATS Glimmer fever"}']))
    request_id = new_id("answered-")  # one key, one partition: read in this order
    first = answer(TENANT, "Quarzine is a thing.", request_id)
    await publish_events(kafka_url, [(first, ANSWERS)])
    await eventually(lambda: _as_list(extraction_calls(scripted, "Quarzine is a thing.")))
    scripted.reset(
        Script(
            tokens=triples_output(
                {
                    "subject": "Wibblex",
                    "subject_type": "Drug",
                    "relation": "TREATS",
                    "object": "Shimmer syndrome",
                    "object_type": "Condition",
                }
            )
        )
    )
    await publish_events(kafka_url, [(answer(TENANT, "Wibblex, then.", request_id), ANSWERS)])
    await eventually(lambda: learned(ingest_url, TENANT, "Wibblex"))
    assert await search(ingest_url, TENANT, "quarzine") == []


async def _as_list(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return calls


async def test_feedback_flags_and_verifies_through_kafka(
    kafka_url: str, ingest_url: str, scripted: ScriptedModel
) -> None:
    tenant = new_id("tenant-feedback-")
    scripted.reset(
        Script(
            tokens=triples_output(
                {
                    "subject": "Snorvex",
                    "subject_type": "Drug",
                    "relation": "TREATS",
                    "object": "Shimmer syndrome",
                    "object_type": "Condition",
                }
            )
        )
    )
    taught = answer(tenant, "Snorvex treats shimmer syndrome.")
    await publish_events(kafka_url, [(taught, ANSWERS)])
    await eventually(lambda: learned(ingest_url, tenant, "Snorvex"))

    async def rate(rating: Literal[-1, 1]) -> None:
        feedback = FeedbackGiven(
            request_id=taught.request_id,
            tenant=tenant,
            response_id=taught.response_id,
            rating=rating,
        )
        await publish_events(kafka_url, [(feedback, FEEDBACK)])

    async def flagged() -> bool:
        return (await graph_stats(ingest_url, tenant))["relations"]["flagged"] == 1

    await rate(-1)
    await eventually(flagged)
    hit = await learned(ingest_url, tenant, "Snorvex")
    assert hit is not None and hit["relations"] == []  # flagged: left out
    context = (await graph_result(kafka_url, tenant, "Tell me about Shimmer syndrome"))["output"]
    assert "Snorvex" not in context

    async def verified() -> bool:
        hit = await learned(ingest_url, tenant, "Snorvex")
        return hit is not None and [r["verified"] for r in hit["relations"]] == [True]

    await rate(1)
    await eventually(verified)
    assert (await graph_stats(ingest_url, tenant))["relations"]["flagged"] == 0


async def test_one_tenants_learned_relations_never_reach_another(
    kafka_url: str, ingest_url: str, scripted: ScriptedModel
) -> None:
    scripted.reset(
        Script(
            tokens=triples_output(
                {
                    "subject": "Zandrol",
                    "subject_type": "Drug",
                    "relation": "TREATS",
                    "object": "Glimmer fever",
                    "object_type": "Condition",
                }
            )
        )
    )
    await publish_events(kafka_url, [(answer(TENANT, "Zandrol treats glimmer fever."), ANSWERS)])
    await eventually(lambda: learned(ingest_url, TENANT, "Zandrol"))
    assert await search(ingest_url, OTHER, "zandrol") == []
    result = await graph_result(kafka_url, OTHER, "Is Zandrol better for glimmer fever?")
    assert "Frobnicil TREATS Glimmer fever" in result["output"]  # the shared ontology
    assert "Zandrol" not in result["output"]
    mine = await graph_result(kafka_url, TENANT, "Is Zandrol better for glimmer fever?")
    assert "- Zandrol TREATS Glimmer fever (unverified)" in mine["output"].splitlines()
    assert (await graph_stats(ingest_url, OTHER))["relations"]["learned"] == 0


async def test_the_gateway_serves_graph_stats_and_search_per_tenant(graph_gateway: str) -> None:
    async with httpx.AsyncClient(base_url=graph_gateway) as client:
        refused = await client.get("/v1/graph/stats")
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "invalid_api_key"
        mine = await client.get("/v1/graph/stats", headers={"Authorization": "Bearer key-a"})
        theirs = await client.get("/v1/graph/stats", headers={"Authorization": "Bearer key-b"})
        assert mine.status_code == theirs.status_code == 200
        assert mine.json()["tenant"] == TENANT and theirs.json()["tenant"] == OTHER
        assert theirs.json()["entities"]["by_type"] == {"Condition": 2, "Drug": 1}
        assert theirs.json()["relations"]["by_type"] == {"RELATED_TO": 1, "TREATS": 1}
        found = await client.get(
            "/v1/graph/search",
            params={"q": "frob", "limit": 5},
            headers={"Authorization": "Bearer key-b"},
        )
        assert [hit["name"] for hit in found.json()["data"]] == ["Frobnicil"]
        too_many = await client.get(
            "/v1/graph/search",
            params={"q": "frob", "limit": 10_000},
            headers={"Authorization": "Bearer key-b"},
        )
        assert too_many.status_code == 400
        assert too_many.json()["error"]["param"] == "query.limit"
        no_query = await client.get("/v1/graph/search", headers={"Authorization": "Bearer key-b"})
        assert no_query.status_code == 400
        assert no_query.json()["error"]["param"] == "query.q"


async def test_a_question_naming_a_term_gets_a_graph_task_whose_block_reaches_the_judge(
    kafka_url: str, graph_gateway: str, scripted: ScriptedModel
) -> None:
    async def ask(attempt: int) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=graph_gateway, timeout=30) as client:
            response = await client.post(
                "/v1/chat/completions",
                headers={"Authorization": "Bearer key-b"},
                json={
                    "model": "moe-orchestrator",
                    "messages": [
                        {"role": "user", "content": f"Can frob-x treat glimmer fever? ({attempt})"}
                    ],
                },
            )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    # The planner's view of the term index is a consumer of its own: ask until it has
    # read the terms this service published at start (normally at once).
    plan: dict[str, Any] = {}
    for attempt in range(20):
        completion = await ask(attempt)
        request_id = completion["id"].removeprefix("chatcmpl-")
        plan = await first_event(kafka_url, PLANS, request_id)
        if any(task["worker"] == "graph" for task in plan["tasks"]):
            break
    workers = sorted(task["worker"] for task in plan["tasks"])
    assert workers == ["expert", "graph"] and plan["streaming_task_id"] is None
    assert completion["id"] == response_id_for(plan["request_id"])
    assert completion["choices"][0]["message"]["content"] == "".join(scripted.script.tokens)
    judged = [c for c in scripted.calls if c["model"] == "scripted-judge"]
    prompt = judged[-1]["messages"][-1]["content"]
    assert "[Knowledge Graph]" in prompt and "Frobnicil TREATS Glimmer fever" in prompt
    # Ranked as the reference ranks it: graph before experts.
    assert prompt.index("graph (graph)") < prompt.index("expert (general)")

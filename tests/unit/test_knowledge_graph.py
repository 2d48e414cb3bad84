"""The knowledge graph's pure parts: term matching (shared by planner and ingest), the
planner's graph task, the extraction output check, the ontology file, the store's
guards, the merger ranking graph context above experts, and the stack's ingest."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from faststream.kafka import TestKafkaBroker

from contracts import (
    ChatMessage,
    GraphTerms,
    PlanCreated,
    RequestReceived,
    TaskAssigned,
    TaskResult,
    TaskSpec,
)
from contracts.events import graph_terms_key
from contracts.graph_terms import mentioned, normalise, term_set
from contracts.topics import COMPACTED, GRAPH_TERMS, PLANS, REQUESTS, task_topic
from contracts.wire import make_broker
from deploy.local import StackConfig, free_port
from deploy.local.services import service_components
from services.gateway.errors import install_error_handlers
from services.gateway.graph_proxy import GraphProxy, graph_router
from services.ingest.context import ContextCache
from services.ingest.extraction import MAX_TRIPLES, ExtractionError, parse
from services.ingest.graph import batches, message_bytes, quote_free
from services.ingest.learning import effect, stars
from services.ingest.ontology import RELATION_TYPES, Ontology, load_ontology
from services.ingest.settings import ONTOLOGY_FILE, IngestSettings
from services.ingest.terms import TermIndex
from services.merger.merge import merge, needs_synthesis
from services.merger.prompts import judge_messages
from services.planner.app import create_app as create_planner
from services.planner.graph_terms import GraphTermsView, with_graph_task
from services.planner.plan import Decision, build_plan, expert_task, last_user_text
from services.planner.settings import PlannerSettings
from services.planner.tool_catalog import ToolCatalog
from tests.unit.conftest import capture


def asking(question: str, tenant: str = "acme", request_id: str = "req-1") -> RequestReceived:
    return RequestReceived(
        request_id=request_id,
        tenant=tenant,
        model="moe-orchestrator",
        messages=[ChatMessage(role="user", content=question)],
    )


def view(shared: list[str], **tenants: list[str]) -> GraphTermsView:
    terms = GraphTermsView()
    terms.apply(GraphTerms(request_id=graph_terms_key(""), scope="", terms=shared))
    for tenant, names in tenants.items():
        terms.apply(GraphTerms(request_id=graph_terms_key(tenant), scope=tenant, terms=names))
    return terms


def test_terms_match_whole_words_case_and_apostrophes_aside() -> None:
    terms = term_set(["Aspirin", "Type 2 diabetes", "C++", "Fermat's little theorem", "ace", "AI"])
    assert "ai" not in terms  # two letters alone: too many false matches
    assert mentioned("Is ASPIRIN ok with type 2 Diabetes?", terms) == ["aspirin", "type 2 diabetes"]
    assert mentioned("In C++ or in space?", terms) == ["c++"]  # not "ace" in "space"
    assert mentioned("Explain Fermat\u2019s little theorem", terms) == ["fermats little theorem"]
    assert normalise("  Node.JS  and COVID-19 ") == "node.js and covid-19"


def expert_decision(request: RequestReceived) -> Decision:
    """The planner's decision of one `general` expert task for `request`."""
    return Decision([expert_task(request.request_id, 1, last_user_text(request))], "fallback")


def graph_planned(
    request: RequestReceived, terms: GraphTermsView
) -> tuple[PlanCreated, list[TaskAssigned]]:
    """The plan the planner publishes for `request`, as Planner._publish makes it."""
    question = last_user_text(request)
    decision = with_graph_task(expert_decision(request), request, question, terms)
    return build_plan(request, question, decision)


def test_a_question_naming_a_known_term_gets_a_graph_task() -> None:
    request = asking("Does aspirin help a headache?")
    planned, assigned = graph_planned(request, view(["aspirin"]))
    assert [(t.worker, t.category) for t in planned.tasks] == [
        ("expert", "general"),
        ("graph", "graph"),
    ]
    # Two sources: the judge writes the answer, so the expert no longer streams.
    assert planned.streaming_task_id is None and not any(t.stream_reply for t in assigned)
    assert [t.task.worker for t in assigned] == ["expert", "graph"]
    graph = assigned[1]
    assert graph.task.task == "Does aspirin help a headache?" and graph.tenant == "acme"
    assert graph.task.id in {t.id for t in planned.tasks}


def test_no_graph_task_without_a_known_term_or_for_a_tool_plan() -> None:
    terms = view(["aspirin"], other=["zorbafen"])
    request = asking("What does zorbafen do?")  # another tenant's learned term
    decision = expert_decision(request)
    assert with_graph_task(decision, request, "What does zorbafen do?", terms) is decision
    mine = asking("What does zorbafen do?", tenant="other")
    assert len(graph_planned(mine, terms)[0].tasks) == 2
    tool_task = TaskSpec(id="t", task="aspirin 2+2", worker="tool", tool="calculate")
    tool_plan = Decision([tool_task], "precision")
    assert with_graph_task(tool_plan, asking("aspirin 2+2"), "aspirin 2+2", terms) is tool_plan


def test_terms_not_republished_lately_are_ignored() -> None:
    # The ingest service republishes its terms at every ontology check; a stopped one
    # must not get graph tasks that nobody would answer.
    terms = GraphTermsView(max_age_s=90)
    stale = datetime.now(UTC) - timedelta(seconds=120)
    terms.apply(GraphTerms(request_id=graph_terms_key(""), terms=["aspirin"], created_at=stale))
    assert terms.named_terms("aspirin?", "acme") == []
    terms.apply(GraphTerms(request_id=graph_terms_key(""), terms=["aspirin"]))
    assert terms.named_terms("aspirin?", "acme") == ["aspirin"]


async def test_the_planner_reads_the_term_index_and_plans_a_graph_task() -> None:
    broker = make_broker("unused:9092", "planner")
    create_planner(PlannerSettings(cache_enabled=False), broker, ToolCatalog(""))
    seen = capture(broker, [PLANS, task_topic("graph")])
    terms = GraphTerms(request_id=graph_terms_key(""), scope="", terms=["frobnicil"])
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(terms.model_dump(mode="json"), GRAPH_TERMS)
        question = asking("Is Frobnicil safe?")
        await test_broker.publish(question.model_dump(mode="json"), REQUESTS)
        [plan] = await seen.wait_for(PLANS)
        [graph] = await seen.wait_for(task_topic("graph"))
    assert isinstance(plan, PlanCreated) and isinstance(graph, TaskAssigned)
    assert graph.task.worker == "graph" and len(plan.tasks) == 2
    assert GRAPH_TERMS in COMPACTED


def test_context_blocks_are_cached_per_tenant_until_their_ttl(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr("services.ingest.context.time.monotonic", lambda: now[0])
    cache = ContextCache(ttl_s=3600, max_entries=2)
    cache.put("acme", ["aspirin"], "[Knowledge Graph] a")
    assert cache.get("acme", ["aspirin"]) == (True, "[Knowledge Graph] a")
    assert cache.get("other", ["aspirin"]) == (False, None)  # per tenant
    now[0] += 3601
    assert cache.get("acme", ["aspirin"]) == (False, None)  # expired
    cache.put("acme", ["aspirin"], "a")
    cache.put("other", ["aspirin"], "b")
    cache.forget("acme")  # acme learned something: its blocks go, others stay
    assert cache.get("acme", ["aspirin"])[0] is False and cache.get("other", ["aspirin"])[0]
    cache.put("t1", ["x"], "1")
    cache.put("t2", ["x"], "2")
    assert cache.get("other", ["aspirin"])[0] is False  # beyond max_entries: oldest out


def test_the_term_index_finds_shared_and_own_entities_only() -> None:
    index = TermIndex()
    index.add("", "aspirin", ["aspirin", "acetylsalicylic acid"])
    index.add("acme", "zorbafen", ["zorbafen"])
    text = "Zorbafen or acetylsalicylic acid?"
    assert index.entities(text, "acme", limit=5) == ["aspirin", "zorbafen"]
    assert index.entities(text, "other", limit=5) == ["aspirin"]
    assert index.entities(text, "acme", limit=1) == ["aspirin"]


def triple(**fields: str) -> dict[str, str]:
    base = {
        "subject": "Aspirin",
        "subject_type": "Drug",
        "relation": "TREATS",
        "object": "Headache",
        "object_type": "Condition",
    }
    return {**base, **fields}


def test_extraction_keeps_valid_triples_and_says_why_others_went() -> None:
    output = json.dumps(
        {"triples": [triple(), triple(relation="CURES"), triple(subject=""), triple(object="x")]}
    )
    extracted = parse(output)
    assert [(t.subject, t.relation, t.object) for t in extracted.triples] == [
        ("Aspirin", "TREATS", "Headache")
    ]
    assert len(extracted.rejected) == 3
    assert "relation" in extracted.rejected[0] and "subject" in extracted.rejected[1]
    many = parse(json.dumps({"triples": [triple(object=f"Thing {i}") for i in range(10)]}))
    assert len(many.triples) == MAX_TRIPLES and len(many.rejected) == 2


@pytest.mark.parametrize("output", ["Sure! Aspirin treats headaches.", '{"facts": []}', "[]"])
def test_extraction_output_that_is_not_triples_is_an_error(output: str) -> None:
    with pytest.raises(ExtractionError):
        parse(output)


def test_the_ontology_file_covers_four_domains_and_every_relation_type() -> None:
    ontology = load_ontology(ONTOLOGY_FILE)
    assert len(ontology.entities) >= 100 and len(ontology.relations) >= 100
    assert {r.relation for r in ontology.relations} == set(RELATION_TYPES)
    types = {e.type for e in ontology.entities}
    assert {"Drug", "LegalConcept", "Technology", "Theorem"} <= types
    broken = {"version": 1, "entities": [{"name": "A", "type": "T"}], "relations": []}
    broken["relations"] = [{"subject": "A", "relation": "USES", "object": "B"}]
    with pytest.raises(ValueError, match="no 'B'"):
        Ontology.model_validate(broken)


def test_strings_sent_to_the_graph_cannot_close_a_quoted_string() -> None:
    sent = quote_free({"name": "it's", "names": ["a\\", {"deep": "'"}], "n": 3, "ok": True})
    assert sent == {
        "name": "it\u2019s",
        "names": ["a\u29f5", {"deep": "\u2019"}],
        "n": 3,
        "ok": True,
    }


def test_bulk_writes_are_batched_below_the_message_limit() -> None:
    rows = [{"key": f"entity {i}", "name": f"Entity {i}"} for i in range(300)]
    query = "UNWIND $rows AS row MERGE (e:Entity {key: row.key})"
    parts = list(batches(rows, query, 3500))
    assert [row for part in parts for row in part] == rows and len(parts) > 1
    assert all(message_bytes(query, {"rows": part}) <= 3500 for part in parts)


@pytest.mark.parametrize(
    ("rating", "outcome"), [(-1, (False, True)), (1, (True, False)), (2, (False, True)), (3, None)]
)
def test_feedback_ratings_verify_or_flag(rating: int, outcome: tuple[bool, bool] | None) -> None:
    assert effect(stars(rating)) == outcome


def graph_plan() -> tuple[PlanCreated, list[TaskResult]]:
    tasks = [
        TaskSpec(id="e", task="Does aspirin help?"),
        TaskSpec(id="g", task="Does aspirin help?", category="graph", worker="graph"),
    ]
    plan = PlanCreated(request_id="r", question="Does aspirin help?", tasks=tasks)
    results = [
        TaskResult(request_id="r", task_id="e", category="general", output="Yes, often."),
        TaskResult(
            request_id="r",
            task_id="g",
            category="graph",
            output="[Knowledge Graph]\n- Aspirin TREATS Headache",
        ),
    ]
    return plan, results


def test_the_merger_gives_the_graph_block_to_the_judge_above_the_expert() -> None:
    plan, results = graph_plan()
    assert needs_synthesis(plan, results)
    prompt = judge_messages(plan, results)[-1]["content"]
    assert prompt.index("[Knowledge Graph]") < prompt.index("Yes, often.")


def test_a_failed_graph_task_leaves_the_experts_answer() -> None:
    plan, results = graph_plan()
    down = results[1].model_copy(update={"output": "", "error": "knowledge graph unavailable"})
    assert not needs_synthesis(plan, [results[0], down])
    outcome = merge(plan, [results[0], down])
    assert outcome.answer is not None and outcome.answer.answer == "Yes, often."


def test_the_stack_runs_ingest_only_with_its_graph_database(tmp_path: Path) -> None:
    config = StackConfig(state_dir=tmp_path, log_dir=tmp_path, bolt_port=17001, ingest_port=18004)
    [ingest] = [c for c in service_components(config) if c.name == "ingest"]
    assert ingest.env["INGEST_BOLT_URL"] == "bolt://127.0.0.1:17001"
    assert ingest.env["GATEWAY_GRAPH_URL"] == "http://127.0.0.1:18004"
    assert ingest.url == "http://127.0.0.1:18004"
    without = config.model_copy(update={"start_graphdb": False})
    components = service_components(without)
    assert "ingest" not in [c.name for c in components]
    [gateway] = [c for c in components if c.name == "gateway"]
    assert gateway.env["GATEWAY_GRAPH_URL"] == ""  # /v1/graph/*: 404, not configured


async def test_the_gateways_graph_routes_without_a_graph_service() -> None:
    app = FastAPI()
    install_error_handlers(app)
    unconfigured = GraphProxy("", timeout_s=1)
    app.include_router(graph_router(unconfigured, lambda _: "acme"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        missing = await client.get("/v1/graph/stats")
        invalid = await client.get("/v1/graph/search", params={"q": "x", "limit": 0})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert invalid.status_code == 400 and invalid.json()["error"]["param"] == "query.limit"
    down = FastAPI()
    install_error_handlers(down)
    unreachable = GraphProxy(f"http://127.0.0.1:{free_port()}", timeout_s=1)
    down.include_router(graph_router(unreachable, lambda _: "acme"))
    transport = httpx.ASGITransport(app=down)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        response = await client.get("/v1/graph/search", params={"q": "aspirin"})
    assert response.status_code == 503 and response.json()["error"]["code"] == "graph_unavailable"
    await unconfigured.aclose()
    await unreachable.aclose()


@pytest.mark.parametrize(
    ("env", "extracting"),
    [
        ({}, False),  # the local stack's SmolLM2 judges: too small, and users need it
        ({"INGEST_EXTRACTION": "true"}, True),
        ({"JUDGE_MODEL": "qwen2.5-32b-instruct"}, True),
        ({"INGEST_EXTRACTION_MODEL": "qwen2.5-7b-instruct"}, True),
        ({"JUDGE_MODEL": "qwen2.5-32b-instruct", "INGEST_EXTRACTION": "false"}, False),
    ],
)
def test_answers_are_mined_unless_the_local_model_would_mine_them(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], extracting: bool
) -> None:
    for name in ("JUDGE_MODEL", "INGEST_EXTRACTION_MODEL", "INGEST_EXTRACTION"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert IngestSettings().extraction is extracting

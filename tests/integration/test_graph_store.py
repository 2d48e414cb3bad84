"""The knowledge graph's queries against a real FalkorDB over Bolt, with the neo4j driver
and the real base ontology: loading, 2-hop context, learning, conflicts, feedback,
tenant scoping, and the two FalkorDB Bolt traps the store guards against."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from contracts import new_id
from services.ingest.browse import search, stats
from services.ingest.context import HEADER, two_hop_context
from services.ingest.extraction import Triple
from services.ingest.graph import GraphError, GraphStore
from services.ingest.learning import learn, record_feedback
from services.ingest.loader import base_loaded, load_base
from services.ingest.ontology import load_ontology
from services.ingest.settings import IngestSettings
from services.ingest.terms import TermIndex


@pytest.fixture
async def store(falkordb_url: str) -> AsyncIterator[GraphStore]:
    """The module's graph with the base ontology loaded (again: idempotent). One graph
    per FalkorDB, shared by the module's tests: each learns as a tenant of its own."""
    settings = IngestSettings(bolt_url=falkordb_url)
    graph = GraphStore(settings)
    await load_base(graph, load_ontology(settings.ontology_file))
    yield graph
    await graph.close()


def triple(subject: str, relation: str, obj: str) -> Triple:
    return Triple.model_validate({"subject": subject, "relation": relation, "object": obj})


async def test_loading_the_ontology_twice_leaves_the_same_counts(store: GraphStore) -> None:
    ontology = load_ontology(IngestSettings().ontology_file)
    first = await stats(store, "default")
    again = await load_base(store, ontology)
    second = await stats(store, "default")
    assert second == first
    assert again == (len(ontology.entities), len(ontology.relations))
    assert first["entities"]["total"] == len(ontology.entities) >= 100
    assert first["relations"]["total"] == len(ontology.relations) >= 100
    assert first["relations"]["verified"] == first["relations"]["total"]
    assert await base_loaded(store, ontology)


async def test_two_hop_context_reaches_a_related_condition(store: GraphStore) -> None:
    index = TermIndex()
    await index.reload(store)
    keys = index.entities("Does ASPIRIN help?", "default", limit=5)  # case-insensitive
    assert keys == ["aspirin"]
    block = await two_hop_context(store, keys, "default", first_fanout=8, second_fanout=4)
    assert block is not None and block.startswith(HEADER)
    lines = block.splitlines()
    assert "- Aspirin TREATS Headache" in lines  # drug -> condition
    assert "- Headache RELATED_TO Migraine" in lines  # condition -> related condition
    assert not any("(unverified)" in line for line in lines)


async def test_fan_out_bounds_the_context(store: GraphStore) -> None:
    wide = await two_hop_context(store, ["aspirin"], "default", first_fanout=8, second_fanout=4)
    narrow = await two_hop_context(store, ["aspirin"], "default", first_fanout=1, second_fanout=1)
    assert wide is not None and narrow is not None
    facts = [line for line in narrow.splitlines() if line.startswith("- ")]
    assert 1 <= len(facts) <= 2 < len([x for x in wide.splitlines() if x.startswith("- ")])


async def test_learned_triples_conflicts_and_duplicates(store: GraphStore) -> None:
    tenant, source = new_id("tenant-"), new_id("chatcmpl-")
    learned = await learn(
        store,
        tenant,
        source,
        [
            triple("Zorbafen", "TREATS", "Migraine"),  # new
            triple("Aspirin", "TREATS", "Gastric ulcer"),  # vs Aspirin CONTRAINDICATES it
            triple("Warfarin", "TREATS", "Bleeding"),  # vs Warfarin CAUSES Bleeding
            triple("Aspirin", "TREATS", "Headache"),  # already in the ontology
        ],
    )
    assert [t.subject for t in learned.stored] == ["Zorbafen"]
    assert [t.object for t in learned.conflicts] == ["Gastric ulcer", "Bleeding"]
    assert [t.object for t in learned.duplicates] == ["Headache"]
    seen = await stats(store, tenant)
    assert seen["conflicts"] == 2
    assert seen["relations"]["learned"] == 1
    block = await two_hop_context(store, ["zorbafen"], tenant, 8, 4)
    assert block is not None and "- Zorbafen TREATS Migraine (unverified)" in block
    # The conflicting triples were not stored.
    ulcer = await two_hop_context(store, ["gastric ulcer"], tenant, 8, 4)
    assert ulcer is not None and "Aspirin TREATS Gastric ulcer" not in ulcer
    # Either way round: CAUSES against an existing TREATS.
    reverse = await learn(
        store, tenant, new_id("chatcmpl-"), [triple("Aspirin", "CAUSES", "Fever")]
    )
    assert reverse.conflicts and not reverse.stored


async def test_learned_knowledge_stays_with_its_tenant(store: GraphStore) -> None:
    owner, other = new_id("tenant-"), new_id("tenant-")
    await learn(store, owner, new_id("chatcmpl-"), [triple("Quellamine", "TREATS", "Fever")])
    assert [hit["name"] for hit in await search(store, owner, "quella", 5)] == ["Quellamine"]
    assert await search(store, other, "quella", 5) == []
    assert await two_hop_context(store, ["quellamine"], other, 8, 4) is None
    fever = await two_hop_context(store, ["fever"], other, 8, 4)
    assert fever is not None and "Quellamine" not in fever
    assert (await stats(store, other))["relations"]["learned"] == 0


async def test_feedback_flags_then_verifies_what_an_answer_taught(store: GraphStore) -> None:
    tenant, source = new_id("tenant-"), new_id("chatcmpl-")
    await learn(store, tenant, source, [triple("Vexopril", "TREATS", "Hypertension")])
    assert await record_feedback(store, tenant, source, -1) == 1
    assert (await stats(store, tenant))["relations"]["flagged"] == 1
    flagged = await two_hop_context(store, ["hypertension"], tenant, 8, 8)
    assert flagged is not None and "Vexopril" not in flagged  # flagged: left out
    assert await record_feedback(store, tenant, source, 1) == 1
    verified = await two_hop_context(store, ["vexopril"], tenant, 8, 4)
    assert verified is not None and "- Vexopril TREATS Hypertension\n" in verified + "\n"
    assert await record_feedback(store, tenant, source, 3) == 0  # 3 stars: no effect


async def test_feedback_read_before_the_answer_applies_when_it_is_learned(
    store: GraphStore,
) -> None:
    tenant, source = new_id("tenant-"), new_id("chatcmpl-")
    assert await record_feedback(store, tenant, source, 1) == 0  # nothing learned yet
    await learn(store, tenant, source, [triple("Plimadol", "TREATS", "Fever")])
    block = await two_hop_context(store, ["plimadol"], tenant, 8, 4)
    assert block is not None and "- Plimadol TREATS Fever\n" in block + "\n"  # verified


async def test_quotes_and_backslashes_in_parameters_run_no_cypher(store: GraphStore) -> None:
    # FalkorDB pastes string parameters into the query text unescaped: sent as is, the
    # first returns 1 and the second pair runs `RETURN 7 AS a, 8 AS b`.
    [row] = await store.run("RETURN $x AS x", x="a' RETURN 1 AS x //")
    assert row["x"] == "a\u2019 RETURN 1 AS x //"
    [row] = await store.run("RETURN $a AS a, $b AS b", a="x\\", b=" RETURN 7 AS a, 8 AS b //")
    assert row == {"a": "x\u29f5", "b": " RETURN 7 AS a, 8 AS b //"}
    assert await store.ping()


async def test_a_request_too_large_for_falkordb_is_refused_before_sending(
    store: GraphStore,
) -> None:
    with pytest.raises(GraphError, match="max_message_bytes"):
        await store.run("RETURN size($x) AS n", x="a" * 5000)
    assert await store.ping()  # the server is still up

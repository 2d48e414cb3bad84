"""Loading the base ontology into the graph: idempotent (MERGE), so loading it twice, or
on every start, leaves the same counts. A marker node records the loaded version; its
absence (a fresh or restarted in-memory FalkorDB) means load again."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import structlog

from services.ingest.graph import GraphError, GraphStore, batches
from services.ingest.ontology import SHARED, Ontology, entity_key

log = structlog.get_logger()

LOAD_TIMEOUT_S = 30.0
"""Loading writes the whole ontology in a few queries: longer than one lookup may take."""

# FalkorDB and Neo4j 5 both accept this form; both refuse it once the index exists,
# which is the outcome wanted (see ensure_index).
CREATE_INDEX = "CREATE INDEX FOR (e:Entity) ON (e.key)"

MERGE_ENTITIES = """
UNWIND $rows AS row
MERGE (e:Entity {key: row.key, tenant: $shared})
SET e.name = row.name, e.type = row.type, e.aliases = row.aliases, e.terms = row.terms
RETURN count(e) AS n
"""

# The relationship type is one of RELATION_TYPES (validated by the Ontology model);
# Cypher takes no parameter there.
MERGE_RELATIONS = """
UNWIND $rows AS row
MATCH (a:Entity {{key: row.s, tenant: $shared}}), (b:Entity {{key: row.o, tenant: $shared}})
MERGE (a)-[r:{relation} {{tenant: $shared}}]->(b)
SET r.verified = true, r.flagged = false, r.source = 'ontology'
RETURN count(r) AS n
"""

MARK = "MERGE (m:OntologyMark {name: 'base'}) SET m.version = $version RETURN m.version AS v"
LOADED_VERSION = "MATCH (m:OntologyMark {name: 'base'}) RETURN m.version AS version"


async def ensure_index(store: GraphStore) -> None:
    try:
        await store.run(CREATE_INDEX, timeout_s=LOAD_TIMEOUT_S)
    except GraphError as exc:  # already there: what MERGE needs either way
        log.debug("graph_index_exists", detail=str(exc))


def _batches(
    store: GraphStore, rows: list[dict[str, Any]], query: str
) -> list[list[dict[str, Any]]]:
    if not store.max_message_bytes:
        return [rows]
    return list(batches(rows, query, store.max_message_bytes))


async def load_base(store: GraphStore, ontology: Ontology) -> tuple[int, int]:
    """MERGE every entity and relation of `ontology`; the counts written."""
    await ensure_index(store)
    rows = [
        {"key": e.key, "name": e.name, "type": e.type, "aliases": e.aliases, "terms": e.terms}
        for e in ontology.entities
    ]
    entities = 0
    for batch in _batches(store, rows, MERGE_ENTITIES):
        [written] = await store.run(
            MERGE_ENTITIES, timeout_s=LOAD_TIMEOUT_S, rows=batch, shared=SHARED
        )
        entities += int(written["n"])
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in ontology.relations:
        by_type[r.relation].append({"s": entity_key(r.subject), "o": entity_key(r.object)})
    relations = 0
    for relation, pairs in sorted(by_type.items()):
        query = MERGE_RELATIONS.format(relation=relation)
        for batch in _batches(store, pairs, query):
            [written] = await store.run(query, timeout_s=LOAD_TIMEOUT_S, rows=batch, shared=SHARED)
            relations += int(written["n"])
    await store.run(MARK, version=ontology.version)
    log.info("ontology_loaded", entities=entities, relations=relations)
    return entities, relations


async def base_loaded(store: GraphStore, ontology: Ontology) -> bool:
    rows = await store.run(LOADED_VERSION)
    return bool(rows) and rows[0]["version"] == ontology.version

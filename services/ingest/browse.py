"""Read-only views for GET /graph/stats and /graph/search: what one tenant can see (the
shared ontology and its own learned relations), bounded."""

from __future__ import annotations

from typing import Any

from contracts.graph_terms import normalise
from services.ingest.graph import GraphStore
from services.ingest.ontology import SHARED

ENTITIES_BY_TYPE = """
MATCH (e:Entity) WHERE e.tenant IN $scopes
RETURN e.type AS type, count(e) AS n ORDER BY type
"""
RELATIONS_BY_TYPE = """
MATCH ()-[r]->() WHERE r.tenant IN $scopes
RETURN type(r) AS type, count(r) AS n,
  sum(CASE WHEN r.verified THEN 1 ELSE 0 END) AS verified,
  sum(CASE WHEN r.flagged THEN 1 ELSE 0 END) AS flagged,
  sum(CASE WHEN r.tenant = $tenant THEN 1 ELSE 0 END) AS learned
ORDER BY type
"""
CONFLICTS = "MATCH (c:Conflict {tenant: $tenant}) RETURN count(c) AS n"
SEARCH = """
MATCH (e:Entity) WHERE e.tenant IN $scopes AND any(t IN e.terms WHERE t CONTAINS $q)
WITH e ORDER BY size(e.name), e.name LIMIT $limit
OPTIONAL MATCH (e)-[r]-(o:Entity)
WHERE r.tenant IN $scopes AND NOT coalesce(r.flagged, false)
WITH e, r, o ORDER BY o.name
WITH e, collect([startNode(r).name, type(r), endNode(r).name, r.verified])[..$per_entity] AS facts
RETURN e.name AS name, e.type AS type, e.aliases AS aliases, e.tenant = $tenant AS learned,
  facts
"""
RELATIONS_PER_ENTITY = 10


async def stats(store: GraphStore, tenant: str) -> dict[str, Any]:
    scopes = sorted({SHARED, tenant})
    entities = await store.run(ENTITIES_BY_TYPE, scopes=scopes)
    relations = await store.run(RELATIONS_BY_TYPE, scopes=scopes, tenant=tenant)
    [conflicts] = await store.run(CONFLICTS, tenant=tenant)
    learned = tenant != SHARED
    return {
        "tenant": tenant,
        "entities": {
            "total": sum(int(row["n"]) for row in entities),
            "by_type": {row["type"]: int(row["n"]) for row in entities},
        },
        "relations": {
            "total": sum(int(row["n"]) for row in relations),
            "by_type": {row["type"]: int(row["n"]) for row in relations},
            "verified": sum(int(row["verified"]) for row in relations),
            "flagged": sum(int(row["flagged"]) for row in relations),
            "learned": sum(int(row["learned"]) for row in relations) if learned else 0,
        },
        "conflicts": int(conflicts["n"]),
    }


def _fact(row: list[Any]) -> dict[str, Any] | None:
    subject, relation, obj, verified = row
    if relation is None:  # OPTIONAL MATCH found nothing
        return None
    return {"subject": subject, "relation": relation, "object": obj, "verified": verified is True}


async def search(store: GraphStore, tenant: str, query: str, limit: int) -> list[dict[str, Any]]:
    """Entities whose name or an alias contains `query` (case-insensitive), with some
    of their relations; at most `limit`."""
    rows = await store.run(
        SEARCH,
        scopes=sorted({SHARED, tenant}),
        tenant=tenant,
        q=normalise(query),
        limit=limit,
        per_entity=RELATIONS_PER_ENTITY,
    )
    return [
        {
            "name": row["name"],
            "type": row["type"],
            "aliases": list(row["aliases"] or []),
            "learned": bool(row["learned"]),
            "relations": [fact for f in row["facts"] if (fact := _fact(f))],
        }
        for row in rows
    ]

"""What the graph learns from answers and feedback.

A triple becomes a relation of the answer's tenant, `verified=false`, with the answer's
response id as its source, unless the tenant can already see it (a duplicate) or it
contradicts what the tenant can see: TREATS against CAUSES or CONTRAINDICATES between the
same two entities, either way round. A contradicting triple is not stored; the conflict
is logged and recorded as a Conflict node (counted by /graph/stats).

Feedback on an answer verifies (4-5 stars) or flags (1-2) the relations learned from it.
It is also recorded, since it may be read before the answer is learned (two topics)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import structlog

from services.ingest.extraction import Triple
from services.ingest.graph import GraphStore
from services.ingest.ontology import SHARED, entity_key

log = structlog.get_logger()

CONFLICTING: dict[str, frozenset[str]] = {
    "TREATS": frozenset({"CAUSES", "CONTRAINDICATES"}),
    "CAUSES": frozenset({"TREATS"}),
    "CONTRAINDICATES": frozenset({"TREATS"}),
}

FIND_ENTITY = """
MATCH (e:Entity {key: $key}) WHERE e.tenant IN $scopes
RETURN e.tenant AS tenant ORDER BY e.tenant LIMIT 1
"""
CREATE_ENTITY = """
MERGE (e:Entity {key: $key, tenant: $tenant})
ON CREATE SET e.name = $name, e.type = $type, e.aliases = [], e.terms = [$key],
  e.source = $source
RETURN e.key AS key
"""
BETWEEN = """
MATCH (a:Entity {key: $s})-[r]->(b:Entity {key: $o})
WHERE a.tenant IN $scopes AND b.tenant IN $scopes AND r.tenant IN $scopes
  AND NOT coalesce(r.flagged, false)
RETURN type(r) AS relation
"""
# `{relation}` is a RelationType, validated by the Triple model: never model text.
CREATE_RELATION = """
MATCH (a:Entity {{key: $s, tenant: $s_tenant}}), (b:Entity {{key: $o, tenant: $o_tenant}})
MERGE (a)-[r:{relation} {{tenant: $tenant}}]->(b)
ON CREATE SET r.verified = false, r.flagged = false, r.source = $source, r.created_at = $at
RETURN count(r) AS n
"""
RECORD_CONFLICT = """
MERGE (c:Conflict {tenant: $tenant, source: $source, subject: $s, relation: $relation,
  object: $o})
ON CREATE SET c.existing = $existing, c.at = $at
RETURN count(c) AS n
"""
RECORD_FEEDBACK = """
MERGE (f:Feedback {tenant: $tenant, source: $source}) SET f.stars = $stars RETURN f.stars AS s
"""
FEEDBACK_OF = "MATCH (f:Feedback {tenant: $tenant, source: $source}) RETURN f.stars AS stars"
MARK_LEARNED = """
MATCH ()-[r]->() WHERE r.tenant = $tenant AND r.source = $source
SET r.verified = $verified, r.flagged = $flagged
RETURN count(r) AS n
"""


@dataclass
class Learned:
    stored: list[Triple] = field(default_factory=list)
    duplicates: list[Triple] = field(default_factory=list)
    conflicts: list[Triple] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    """Keys of the entities created for the tenant (new terms of its index)."""


def stars(rating: int) -> int:
    """Today's contract rates -1 or +1: read as 1 and 5 stars; 1-5 is read as is."""
    return {-1: 1, 1: 5}.get(rating, rating)


def effect(rating_stars: int) -> tuple[bool, bool] | None:
    """(verified, flagged) for a star rating; None for 3 (no effect)."""
    if rating_stars <= 2:
        return False, True
    if rating_stars >= 4:
        return True, False
    return None


async def _entity(
    store: GraphStore, tenant: str, name: str, kind: str, source: str
) -> tuple[str, bool]:
    """The tenant that owns the entity named `name` ('' when shared), created for
    `tenant` when neither has it; and whether it was created."""
    key = entity_key(name)
    rows = await store.run(FIND_ENTITY, key=key, scopes=sorted({SHARED, tenant}))
    if rows:
        return str(rows[0]["tenant"]), False
    await store.run(CREATE_ENTITY, key=key, tenant=tenant, name=name, type=kind, source=source)
    return tenant, True


async def learn_triple(
    store: GraphStore, tenant: str, source: str, triple: Triple, learned: Learned
) -> None:
    s, o = entity_key(triple.subject), entity_key(triple.object)
    scopes = sorted({SHARED, tenant})
    existing = {row["relation"] for row in await store.run(BETWEEN, s=s, o=o, scopes=scopes)}
    if triple.relation in existing:
        learned.duplicates.append(triple)
        return
    clash = existing & CONFLICTING.get(triple.relation, frozenset())
    if clash:
        learned.conflicts.append(triple)
        log.warning(
            "graph_conflict",
            tenant=tenant,
            source=source,
            triple=f"{triple.subject} {triple.relation} {triple.object}",
            existing=sorted(clash),
        )
        await store.run(
            RECORD_CONFLICT,
            tenant=tenant,
            source=source,
            s=s,
            relation=triple.relation,
            o=o,
            existing=sorted(clash),
            at=time.time(),
        )
        return
    s_tenant, s_new = await _entity(store, tenant, triple.subject, triple.subject_type, source)
    o_tenant, o_new = await _entity(store, tenant, triple.object, triple.object_type, source)
    learned.created += [key for key, new in ((s, s_new), (o, o_new)) if new]
    await store.run(
        CREATE_RELATION.format(relation=triple.relation),
        s=s,
        s_tenant=s_tenant,
        o=o,
        o_tenant=o_tenant,
        tenant=tenant,
        source=source,
        at=time.time(),
    )
    learned.stored.append(triple)


async def learn(store: GraphStore, tenant: str, source: str, triples: list[Triple]) -> Learned:
    """Store `triples` learned from the answer `source` of `tenant`, one at a time (a
    later triple may conflict with an earlier one); then apply feedback that came first.
    Idempotent: an answer read again (after a failure) changes nothing twice."""
    learned = Learned()
    for triple in triples:
        await learn_triple(store, tenant, source, triple, learned)
    earlier = await store.run(FEEDBACK_OF, tenant=tenant, source=source)
    if earlier and learned.stored:
        await apply_feedback(store, tenant, source, int(earlier[0]["stars"]))
    return learned


async def apply_feedback(store: GraphStore, tenant: str, source: str, rating_stars: int) -> int:
    """Verify or flag what was learned from `source`; the relations changed."""
    outcome = effect(rating_stars)
    if outcome is None:
        return 0
    verified, flagged = outcome
    rows = await store.run(
        MARK_LEARNED, tenant=tenant, source=source, verified=verified, flagged=flagged
    )
    return int(rows[0]["n"]) if rows else 0


async def record_feedback(store: GraphStore, tenant: str, source: str, rating: int) -> int:
    """Remember the rating (for relations learned later) and apply it now."""
    rating_stars = stars(rating)
    await store.run(RECORD_FEEDBACK, tenant=tenant, source=source, stars=rating_stars)
    return await apply_feedback(store, tenant, source, rating_stars)

"""Graph context for a question: the entities it names, their relations and their
neighbours' relations (two hops, bounded fan-out), as a `[Knowledge Graph]` block for
the judge. Relations learned from answers are marked unverified until feedback verifies
them; flagged ones are left out; a tenant sees the shared ontology and its own relations
only. Blocks are cached per tenant and named entities for a TTL."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

from services.ingest.graph import GraphStore
from services.ingest.ontology import SHARED

HEADER = "[Knowledge Graph]"

TWO_HOPS = """
MATCH (a:Entity)-[r1]-(b:Entity)
WHERE a.key IN $keys AND a.tenant IN $scopes AND r1.tenant IN $scopes
  AND NOT coalesce(r1.flagged, false)
WITH a, r1, b ORDER BY r1.verified DESC, b.name
WITH a, collect({rel: r1, node: b})[..$first_fanout] AS firsts
UNWIND firsts AS first
WITH a, first.rel AS r1, first.node AS b
OPTIONAL MATCH (b)-[r2]-(c:Entity)
WHERE c <> a AND r2.tenant IN $scopes AND NOT coalesce(r2.flagged, false)
WITH a, r1, b, r2, c ORDER BY r2.verified DESC, c.name
WITH a, r1, b, collect({rel: r2, node: c})[..$second_fanout] AS seconds
RETURN a.key AS seed, a.name AS seed_name, a.type AS seed_type,
  [startNode(r1).name, type(r1), endNode(r1).name, r1.verified] AS first,
  [x IN seconds WHERE x.rel IS NOT NULL
    | [startNode(x.rel).name, type(x.rel), endNode(x.rel).name, x.rel.verified]] AS second
"""

NAMED = """
MATCH (a:Entity) WHERE a.key IN $keys AND a.tenant IN $scopes
RETURN a.key AS seed, a.name AS seed_name, a.type AS seed_type
"""


@dataclass(frozen=True)
class Fact:
    subject: str
    relation: str
    object: str
    verified: bool

    def line(self) -> str:
        mark = "" if self.verified else " (unverified)"
        return f"- {self.subject} {self.relation} {self.object}{mark}"


def _fact(row: list[object]) -> Fact:
    subject, relation, obj, verified = row
    return Fact(str(subject), str(relation), str(obj), verified is True)


def render(named: dict[str, str], facts: list[Fact]) -> str:
    """The block: the named entities with their types, then each fact once."""
    lines = [HEADER, "Named: " + "; ".join(f"{n} ({t})" for n, t in named.items())]
    lines += [fact.line() for fact in dict.fromkeys(facts)]
    return "\n".join(lines)


async def two_hop_context(
    store: GraphStore, keys: list[str], tenant: str, first_fanout: int, second_fanout: int
) -> str | None:
    """The block for the entities `keys`, or None when none of them is in the graph."""
    scopes = sorted({SHARED, tenant})
    rows = await store.run(
        TWO_HOPS, keys=keys, scopes=scopes, first_fanout=first_fanout, second_fanout=second_fanout
    )
    if not rows:  # named entities without relations (or none at all)
        rows = await store.run(NAMED, keys=keys, scopes=scopes)
    if not rows:
        return None
    order = {key: index for index, key in enumerate(keys)}
    rows.sort(key=lambda row: order.get(row["seed"], len(order)))
    named = {row["seed_name"]: row["seed_type"] for row in rows}
    facts: list[Fact] = []
    for row in rows:
        if row.get("first"):
            facts.append(_fact(row["first"]))
        facts += [_fact(second) for second in row.get("second") or []]
    return render(named, facts)


class ContextCache:
    """Blocks by (tenant, named entities), each kept `ttl_s`; least recently used go
    first beyond `max_entries`. A tenant's entries go when its knowledge changes."""

    def __init__(self, ttl_s: float, max_entries: int) -> None:
        self.ttl_s, self.max_entries = ttl_s, max_entries
        self._entries: OrderedDict[tuple[str, tuple[str, ...]], tuple[float, str | None]] = (
            OrderedDict()
        )

    def get(self, tenant: str, keys: list[str]) -> tuple[bool, str | None]:
        """(found, block); a cached None is a found answer: those entities have no block."""
        entry = self._entries.get((tenant, tuple(keys)))
        if entry is None or time.monotonic() - entry[0] > self.ttl_s:
            return False, None
        self._entries.move_to_end((tenant, tuple(keys)))
        return True, entry[1]

    def put(self, tenant: str, keys: list[str], block: str | None) -> None:
        if self.ttl_s <= 0:
            return
        self._entries[(tenant, tuple(keys))] = (time.monotonic(), block)
        self._entries.move_to_end((tenant, tuple(keys)))
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def forget(self, tenant: str | None = None) -> None:
        """Drop a tenant's blocks (its relations changed), or every block (None: the
        shared ontology changed)."""
        if tenant is None:
            self._entries.clear()
            return
        for key in [k for k in self._entries if k[0] == tenant]:
            del self._entries[key]

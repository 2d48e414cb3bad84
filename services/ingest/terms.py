"""Which entities a question names: an in-memory index of every entity's terms (name and
aliases, normalised) per scope, the shared ontology's and each tenant's learned ones.
Read from the graph at start-up and kept current by this service's own writes; the same
index, as term lists, is published on moe.graph.terms for the planner."""

from __future__ import annotations

from collections import defaultdict

from contracts.graph_terms import mentioned
from services.ingest.graph import GraphStore
from services.ingest.ontology import SHARED

ALL_TERMS = "MATCH (e:Entity) RETURN e.tenant AS tenant, e.key AS key, e.terms AS terms"


class TermIndex:
    def __init__(self) -> None:
        # scope -> term -> keys of the entities it names (an alias may name several)
        self._scopes: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))

    def add(self, scope: str, key: str, terms: list[str]) -> None:
        for term in terms:
            self._scopes[scope][term].add(key)

    def scopes(self) -> list[str]:
        return sorted(self._scopes)

    def terms(self, scope: str) -> list[str]:
        return sorted(self._scopes.get(scope, {}))

    def entities(self, text: str, tenant: str, limit: int) -> list[str]:
        """Keys of the entities `text` names, shared or `tenant`'s, first named first."""
        keys: dict[str, None] = {}
        for scope in (SHARED, tenant):
            index = self._scopes.get(scope)
            if not index:
                continue
            for term in mentioned(text, frozenset(index)):
                keys.update(dict.fromkeys(sorted(index[term])))
        return list(keys)[:limit]

    async def reload(self, store: GraphStore) -> None:
        """Replace the index with the graph's current entities."""
        rows = await store.run(ALL_TERMS, timeout_s=max(store.timeout_s, 30.0))
        fresh = TermIndex()
        for row in rows:
            fresh.add(row["tenant"], row["key"], list(row["terms"] or []))
        self._scopes = fresh._scopes

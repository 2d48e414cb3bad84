"""Graph tasks: a question that names a term of the knowledge graph gets a graph task
beside its expert task, whose `[Knowledge Graph]` block the judge then reads.

The planner keeps a view of moe.graph.terms (compacted; the ingest service publishes
one GraphTerms per scope: the shared ontology's, each tenant's learned terms), read from
the beginning without a consumer group like the answer cache, so matching costs no
network call: a few microseconds per question.

The ingest service republishes its scopes at every ontology check (30 s by default); a
scope not heard of for `max_age_s` is ignored, so a stopped ingest service stops getting
graph tasks, which nobody would answer, within that time."""

from __future__ import annotations

import time
from dataclasses import replace

from faststream.kafka import KafkaRouter
from faststream.middlewares import AckPolicy

from contracts import GraphTerms, RequestReceived, TaskSpec
from contracts.graph_terms import mentioned, term_set
from contracts.topics import GRAPH_TERMS
from contracts.wire import FETCH_MAX_WAIT_MS
from services.planner.plan import Decision

SHARED_SCOPE = ""


class GraphTermsView:
    def __init__(self, max_age_s: float = 90.0) -> None:
        self.max_age_s = max_age_s
        self._scopes: dict[str, tuple[float, frozenset[str]]] = {}

    def apply(self, event: GraphTerms) -> None:
        self._scopes[event.scope] = (event.created_at.timestamp(), term_set(event.terms))

    def named_terms(self, text: str, tenant: str) -> list[str]:
        """The known terms `text` names: shared ones, and `tenant`'s own, of scopes
        published within `max_age_s`."""
        found: list[str] = []
        oldest = time.time() - self.max_age_s
        for scope in (SHARED_SCOPE, tenant):
            published, terms = self._scopes.get(scope, (0.0, frozenset()))
            if published >= oldest:
                found += mentioned(text, terms)
        return found


def attach_graph_terms(router: KafkaRouter, view: GraphTermsView) -> None:
    @router.subscriber(
        GRAPH_TERMS,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.ACK_FIRST,
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
    )
    async def on_graph_terms(event: GraphTerms) -> None:
        view.apply(event)


def with_graph_task(
    decision: Decision, request: RequestReceived, question: str, view: GraphTermsView
) -> Decision:
    """`decision` with a graph task added when `question` names a known term. Only expert
    plans get one: a tool's exact value is passed through, never rewritten by a judge.
    The expert then no longer streams (build_plan streams a lone expert only): the judge
    writes the answer from both sources."""
    if not decision.tasks or any(task.worker != "expert" for task in decision.tasks):
        return decision
    if not view.named_terms(question, request.tenant):
        return decision
    spec = TaskSpec(
        id=f"{request.request_id}:graph", task=question, category="graph", worker="graph"
    )
    return replace(decision, tasks=[*decision.tasks, spec])

"""The service's knowledge graph work, apart from how events reach it: graph context for
a task, learning from a committed answer, feedback effects, and keeping the base
ontology loaded and the term index published."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog
from faststream.kafka import KafkaBroker

from contracts import AnswerCommitted, FeedbackGiven, GraphTerms, TaskAssigned, TaskResult
from contracts.events import graph_terms_key
from contracts.topics import GRAPH_TERMS
from contracts.wire import publish_event
from services.ingest.context import ContextCache, two_hop_context
from services.ingest.extraction import Extracted, ExtractionError, Extractor
from services.ingest.graph import GraphError, GraphStore, GraphUnavailable
from services.ingest.learning import Learned, learn, record_feedback
from services.ingest.loader import base_loaded, load_base
from services.ingest.ontology import Ontology
from services.ingest.settings import IngestSettings
from services.ingest.terms import TermIndex

log = structlog.get_logger()
T = TypeVar("T")

RETRY_PAUSE_S = (0.5, 1.0, 2.0, 5.0)
"""Pauses between attempts to store while the graph is down (the last one repeats)."""
UNSTORED_KEPT = 256


class Knowledge:
    def __init__(
        self,
        settings: IngestSettings,
        store: GraphStore,
        ontology: Ontology,
        broker: KafkaBroker,
        extractor: Extractor | None,
    ) -> None:
        self.settings, self.store, self.ontology = settings, store, ontology
        self.broker, self.extractor = broker, extractor
        self.index = TermIndex()
        self.cache = ContextCache(settings.context_ttl_s, settings.context_cache_entries)
        self.base_ready = asyncio.Event()
        self.conflicts = 0
        # Extracted triples not stored yet (the graph is down): an answer read again is
        # not sent to the model again.
        self._unstored: OrderedDict[str, Extracted] = OrderedDict()

    # -- graph context ---------------------------------------------------------------

    async def context(self, task: TaskAssigned) -> TaskResult:
        """The `[Knowledge Graph]` block for the task's question, or an error result
        (never a wait beyond the query timeouts: the merger is waiting for it)."""
        started = time.time()
        text = task.task.task or task.messages[-1].content
        keys = self.index.entities(text, task.tenant, self.settings.max_seed_terms)
        if not keys:
            return self._result(task, started, error="the question names no known term")
        found, block = self.cache.get(task.tenant, keys)
        if not found:
            try:
                block = await two_hop_context(
                    self.store,
                    keys,
                    task.tenant,
                    self.settings.first_hop_fanout,
                    self.settings.second_hop_fanout,
                )
            except GraphError as exc:
                log.warning("graph_context_failed", request_id=task.request_id, error=str(exc))
                return self._result(task, started, error=f"knowledge graph unavailable: {exc}")
            self.cache.put(task.tenant, keys, block)
        if block is None:
            return self._result(task, started, error="no graph entry for the named terms")
        return self._result(task, started, output=block)

    def _result(
        self, task: TaskAssigned, started: float, output: str = "", error: str | None = None
    ) -> TaskResult:
        return TaskResult.answering(
            task,
            worker_id=self.settings.worker_id,
            output=output,
            error=error,
            confidence=None if error else "high",
            model="knowledge-graph",
            started_at=started,
        )

    # -- learning -------------------------------------------------------------------

    async def extract(self, answer: AnswerCommitted) -> Extracted | None:
        """The answer's triples, or None when there is nothing to store (logged why)."""
        if self.extractor is None or not answer.answer.strip():
            return None
        if answer.response_id in self._unstored:
            return self._unstored[answer.response_id]
        try:
            extracted = await self.extractor.extract(answer.question, answer.answer)
        except ExtractionError as exc:
            log.warning("extraction_failed", response_id=answer.response_id, reason=str(exc))
            return None
        for reason in extracted.rejected:
            log.info("triple_rejected", response_id=answer.response_id, reason=reason)
        if extracted.triples:  # kept until stored (learn() forgets them)
            self._unstored[answer.response_id] = extracted
            while len(self._unstored) > UNSTORED_KEPT:
                self._unstored.popitem(last=False)
        return extracted

    async def learn(self, answer: AnswerCommitted, extracted: Extracted) -> Learned:
        """Store the triples; GraphError when the graph stays down for the retry window
        (the caller hands the event back to be read again)."""
        learned = await self._retrying(lambda: self._learn(answer, extracted))
        self._unstored.pop(answer.response_id, None)
        self.conflicts += len(learned.conflicts)
        if learned.stored:
            self.cache.forget(answer.tenant)
        if learned.created:
            for key in learned.created:
                self.index.add(answer.tenant, key, [key])
            await self.publish_terms(answer.tenant)
        log.info(
            "answer_learned",
            response_id=answer.response_id,
            tenant=answer.tenant,
            stored=len(learned.stored),
            duplicates=len(learned.duplicates),
            conflicts=len(learned.conflicts),
            rejected=len(extracted.rejected),
        )
        return learned

    async def _learn(self, answer: AnswerCommitted, extracted: Extracted) -> Learned:
        # The base first: a graph restarted empty would otherwise get the answer's shared
        # entities (its conditions, say) as the tenant's own, ahead of the ontology.
        await self.ensure_base()
        return await learn(self.store, answer.tenant, answer.response_id, extracted.triples)

    async def feedback(self, event: FeedbackGiven) -> int:
        changed = await self._retrying(
            lambda: record_feedback(self.store, event.tenant, event.response_id, event.rating)
        )
        if changed:
            self.cache.forget(event.tenant)
        log.info("feedback_applied", response_id=event.response_id, relations=changed)
        return changed

    async def _retrying(self, attempt: Callable[[], Awaitable[T]]) -> T:
        deadline = time.monotonic() + self.settings.store_retry_window_s
        for tries in itertools.count():
            try:
                return await attempt()
            except GraphUnavailable as exc:
                pause = RETRY_PAUSE_S[min(tries, len(RETRY_PAUSE_S) - 1)]
                if time.monotonic() + pause > deadline:
                    raise
                log.warning("graph_write_retry", error=str(exc), pause_s=pause)
                await asyncio.sleep(pause)
        raise AssertionError("unreachable")

    # -- base ontology and term index -----------------------------------------------

    async def _checked_base(self) -> bool:
        try:
            return await self.ensure_base()
        except GraphError as exc:
            log.warning("ontology_check_failed", error=str(exc))
            return False

    async def ensure_base(self) -> bool:
        """Load the base ontology if the graph lacks it (first start, or an in-memory
        FalkorDB restarted), then reload and publish the term index. True: loaded now."""
        if await base_loaded(self.store, self.ontology):
            if not self.base_ready.is_set():  # another instance loaded it
                await self._refresh_terms()
            return False
        await load_base(self.store, self.ontology)
        await self._refresh_terms()
        return True

    async def _refresh_terms(self) -> None:
        await self.index.reload(self.store)
        self.cache.forget()
        await self.publish_all_terms()
        self.base_ready.set()

    async def publish_all_terms(self) -> None:
        for scope in self.index.scopes():
            await self.publish_terms(scope)

    async def publish_terms(self, scope: str) -> None:
        event = GraphTerms(
            request_id=graph_terms_key(scope),
            tenant=scope or "default",
            scope=scope,
            terms=self.index.terms(scope),
        )
        await publish_event(self.broker, event, GRAPH_TERMS)

    async def keep_base(self) -> None:
        """Until cancelled: check the base ontology now and every `ontology_check_s`,
        and republish the term index (the planner ignores terms not heard of for a
        while: this service may have stopped). A graph that is down is logged and tried
        again at the next check; the terms are republished meanwhile (graph tasks then
        answer at once with an error result, and the request without graph context)."""
        while True:
            try:
                if not await self._checked_base() and self.base_ready.is_set():
                    await self.publish_all_terms()
            except Exception as exc:  # logged; the next check retries
                log.warning("ontology_check_failed", error=f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(self.settings.ontology_check_s)

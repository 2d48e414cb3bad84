"""One request's way through the planner, first match wins: a client's internal task
(fast path), precision routing (its answers cached exactly, never by meaning), the exact
cache, an identical request already in flight, the semantic cache, the semantic router,
the LLM planner (its plans reused for 30 minutes), else one general expert task. Every
way ends in a plan event on moe.plans."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import structlog
from faststream.kafka import KafkaBroker

from contracts import RequestReceived
from contracts.topics import PLANS, task_topic
from contracts.view_catch_up import ViewCatchUp
from contracts.wire import publish_event
from services.planner.answer_cache import AnswerCache, cache_key, stands_alone
from services.planner.cache_hit import answer_from_cache
from services.planner.embeddings import Embedder, Vectors
from services.planner.graph_terms import GraphTermsView, with_graph_task
from services.planner.in_flight import InFlight
from services.planner.llm_planner import LlmPlanner, PlannerFailure
from services.planner.plan import (
    Decision,
    build_plan,
    client_task,
    expert_task,
    fallback,
    last_user_text,
    precise,
)
from services.planner.plan_cache import REUSED, PlanCache
from services.planner.relay import Relay
from services.planner.router import SemanticRouter
from services.planner.semantic_cache import SemanticCache
from services.planner.settings import PlannerSettings
from services.planner.tool_catalog import ToolCatalog

log = structlog.get_logger()


class Planner:
    def __init__(
        self,
        settings: PlannerSettings,
        broker: KafkaBroker,
        catalog: ToolCatalog,
        cache: AnswerCache,
        rebuild: ViewCatchUp,
        embedder: Embedder | None = None,
        semantic: SemanticCache | None = None,
        router: SemanticRouter | None = None,
        llm: LlmPlanner | None = None,
        graph_terms: GraphTermsView | None = None,
    ) -> None:
        self._settings = settings
        self._broker = broker
        self._catalog = catalog
        self.cache = cache
        self._rebuild = rebuild
        self.in_flight = InFlight(settings.coalesce_wait_s)
        self.relay = Relay(broker, self.in_flight, self.handle)
        self.semantic = semantic
        self.router = router
        self.llm = llm
        self.graph_terms = graph_terms
        self.plans = PlanCache(settings.plan_cache_ttl_s)
        self._embedder = embedder
        self._tasks: set[asyncio.Task[None]] = set()

    async def handle(self, request: RequestReceived) -> None:
        question = last_user_text(request)
        if client_task(question):
            # A client's own housekeeping (titles, tags): one model call, no cache.
            decision = fallback(request.request_id, question, "client task")
            await self._publish(request, question, Decision(decision.tasks, "fast_path"), None)
            return
        # Before any cache: an exact value is never served by meaning ("98 km/h" and
        # "97 km/h" are near neighbours), so a precise question's answer is cached exactly.
        exact = precise(request.request_id, question, self._catalog)
        enabled = self._settings.cache_enabled
        key = cache_key(request, exact_only=exact is not None) if enabled else None
        if key is None:
            await self._plan(request, question, None, exact)
            return
        await self._rebuild.wait()  # right after a restart: until the view has caught up
        hit = self.cache.lookup(key)
        if hit is not None:
            await answer_from_cache(self._broker, request, hit)
            return
        leader = self.in_flight.leader(key)
        if leader is not None:
            # Off the handler: a finished leader's whole reply goes out at once.
            self._spawn(self.relay.follow(leader, request))
            return
        if exact is not None or not self._embeds(request):
            await self._plan(request, question, key, exact)
            return
        # Embedding and the semantic lookup take milliseconds each: off the handler, so
        # that requests arriving meanwhile are embedded together, as one batch. Leader
        # from now: an identical request follows this one's reply, whatever answers it.
        self.in_flight.start(key, request.request_id)
        self._spawn(self._plan_by_meaning(request, question, key))

    def _embeds(self, request: RequestReceived) -> bool:
        """Whether the request's embedding will be used. The router alone embeds only
        where it can save a planner model call: naming a category is not worth ~10 ms of
        CPU on every request."""
        router_saves = self.router is not None and self.llm is not None
        wanted = self.semantic is not None or router_saves
        return wanted and self._embedder is not None and stands_alone(request)

    async def _plan_by_meaning(self, request: RequestReceived, question: str, key: str) -> None:
        vector = await self._embedding(question)
        if vector is not None and await self._semantic_hit(request, vector):
            # No leader for later identical requests: they look the semantic cache up
            # again, which sees a flag set since (a follower would get this answer).
            self.in_flight.answered(request.request_id)
            return
        await self._plan(request, question, key, None, vector)

    async def _embedding(self, question: str) -> Vectors | None:
        """The question's embedding (None on failure: the request is planned without it)."""
        if self._embedder is None:
            return None
        try:
            vectors = await self._embedder.embed([question])
        except Exception as exc:  # a remote embeddings endpoint away: plan without it
            log.warning("embedding_failed", error=f"{type(exc).__name__}: {exc}")
            return None
        vector: Vectors = vectors[0]
        return vector

    async def _semantic_hit(self, request: RequestReceived, vector: Vectors) -> bool:
        if self.semantic is None or not self.semantic.ready:
            return False
        try:
            hit = await self.semantic.lookup(request.tenant, request.mode, vector)
        except Exception as exc:  # Chroma away: plan the request instead
            log.warning("semantic_cache_unavailable", error=f"{type(exc).__name__}: {exc}")
            return False
        if hit is None:
            return False
        await answer_from_cache(
            self._broker, request, hit.answer, "semantic_cache", distance=round(hit.distance, 4)
        )
        return True

    async def _plan(
        self,
        request: RequestReceived,
        question: str,
        key: str | None,
        exact: Decision | None,
        vector: Vectors | None = None,
    ) -> None:
        decision = exact or self._routed(request.request_id, question, vector)
        if key is not None:
            self.in_flight.start(key, request.request_id)
        if decision is not None:
            await self._publish(request, question, decision, key)
        elif self.llm is None:
            reason = "no planner model configured"
            await self._publish(
                request, question, fallback(request.request_id, question, reason), key
            )
        else:
            # Seconds of model time: off the handler, which must keep taking requests.
            self._spawn(self._plan_with_model(request, question, key, self.llm))

    async def _plan_with_model(
        self, request: RequestReceived, question: str, key: str | None, llm: LlmPlanner
    ) -> None:
        decision = self._reused_plan(request, question)
        if decision is None:
            try:
                made = await llm.plan(request.request_id, question, request.messages)
            except PlannerFailure as failure:
                log.info("planner_fallback", request_id=request.request_id, reason=str(failure))
                decision = fallback(request.request_id, question, str(failure))
            else:
                note = f"dropped: {'; '.join(made.dropped)}" if made.dropped else None
                decision = Decision(made.tasks, "llm_planner", note)
        await self._publish(request, question, decision, key)

    def _reused_plan(self, request: RequestReceived, question: str) -> Decision | None:
        if not stands_alone(request):
            return None
        found = self.plans.lookup(request.tenant, question, request.request_id)
        if found is None:
            return None
        earlier, tasks = found
        return Decision(tasks, "llm_planner", f"{REUSED}{earlier}")

    def _routed(self, request_id: str, question: str, vector: Vectors | None) -> Decision | None:
        if self.router is None or vector is None:
            return None
        route = self.router.route(vector)
        if route is None:
            return None
        task = expert_task(request_id, 1, question, route.category)
        return Decision([task], "router", route.category, route.distance, route.margin)

    async def _publish(
        self, request: RequestReceived, question: str, decision: Decision, key: str | None
    ) -> None:
        if self.graph_terms is not None and decision.planned_by != "fast_path":
            decision = with_graph_task(decision, request, question, self.graph_terms)
        plan, tasks = build_plan(request, question, decision, key)
        # Concurrently: the merger's fan-in accepts a plan and its results in any order.
        # The tasks first: they are on the way to the first token and so go out in the
        # producer's first request; the plan, for the merger and the audit trail, follows
        # (A/B in the stack: ~0.5 ms less added time to first token).
        await asyncio.gather(
            *(publish_event(self._broker, task, task_topic(task.task.worker)) for task in tasks),
            publish_event(self._broker, plan, PLANS),
        )

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        # Kept referenced until done: an unreferenced task may be garbage-collected.
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            # Off the handler, so no dead letter: its client gets a 504 at the deadline.
            log.error("planning_failed", error=f"{type(error).__name__}: {error}")

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

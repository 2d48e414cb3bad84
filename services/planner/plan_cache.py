"""Plans the LLM planner made, reused for 30 minutes per tenant: a view of moe.plans that
every planner instance reads in full (no consumer group), so each sees the plans all the
others made. Only plans of standalone questions are kept: a follow-up's plan depends on
its conversation."""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass

from contracts import PlanCreated, TaskSpec
from services.planner.answer_cache import semantic_scope

REUSED = "reused plan of "
"""Start of the note of a plan taken from this cache (such plans are not stored again)."""


def plan_key(tenant: str, question: str) -> str:
    normalised = " ".join(question.split()).lower()
    return hashlib.sha256(f"{tenant}\n{normalised}".encode()).hexdigest()


@dataclass(frozen=True)
class CachedPlan:
    request_id: str
    tasks: list[TaskSpec]
    stored_at: float


class PlanCache:
    def __init__(self, ttl_s: float, max_entries: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._plans: OrderedDict[str, CachedPlan] = OrderedDict()

    def remember(self, plan: PlanCreated) -> None:
        if plan.planned_by != "llm_planner" or (plan.plan_note or "").startswith(REUSED):
            return
        if semantic_scope(plan.cache_key) is None:  # not a standalone question
            return
        stored_at = plan.created_at.timestamp()
        if time.time() - stored_at > self.ttl_s:
            return
        key = plan_key(plan.tenant, plan.question)
        self._plans[key] = CachedPlan(plan.request_id, plan.tasks, stored_at)
        self._plans.move_to_end(key)
        while len(self._plans) > self.max_entries:
            self._plans.popitem(last=False)

    def lookup(
        self, tenant: str, question: str, request_id: str
    ) -> tuple[str, list[TaskSpec]] | None:
        """The earlier plan's request id and its tasks, renumbered for `request_id`."""
        key = plan_key(tenant, question)
        cached = self._plans.get(key)
        if cached is None:
            return None
        if time.time() - cached.stored_at > self.ttl_s:
            del self._plans[key]
            return None
        tasks = [
            task.model_copy(update={"id": f"{request_id}:{number}"})
            for number, task in enumerate(cached.tasks, start=1)
        ]
        return cached.request_id, tasks

"""Fan-in: gathers a plan and its task results, which arrive in any order."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from contracts import PlanCreated, TaskResult


@dataclass
class Gathering:
    plan: PlanCreated | None = None
    results: dict[str, TaskResult] = field(default_factory=dict)
    last_seen: float = field(default_factory=time.monotonic)

    @property
    def complete(self) -> bool:
        return self.plan is not None and all(t.id in self.results for t in self.plan.tasks)


class FanIn:
    """Per-request state of this merger instance. moe.plans and moe.results are
    co-partitioned, so every event of a request reaches the same instance."""

    def __init__(self, orphan_ttl_s: float) -> None:
        self.orphan_ttl_s = orphan_ttl_s
        self._open: dict[str, Gathering] = {}
        self._next_sweep = 0.0

    def __len__(self) -> int:
        return len(self._open)

    def add(self, event: PlanCreated | TaskResult) -> tuple[PlanCreated, list[TaskResult]] | None:
        """Record the event; when the request is complete, hand it over and forget it."""
        self._forget_orphans()
        gathering = self._open.setdefault(event.request_id, Gathering())
        gathering.last_seen = time.monotonic()
        if isinstance(event, PlanCreated):
            gathering.plan = event
        else:
            gathering.results[event.task_id] = event
        if not gathering.complete or gathering.plan is None:
            return None
        del self._open[event.request_id]
        plan = gathering.plan
        return plan, [gathering.results[t.id] for t in plan.tasks]

    def reopen(self, plan: PlanCreated, results: list[TaskResult]) -> None:
        """Wait again for `plan` (extended with a follow-up task), keeping its results."""
        self._open[plan.request_id] = Gathering(plan, {r.task_id: r for r in results})

    def _forget_orphans(self) -> None:
        now = time.monotonic()
        if now < self._next_sweep:  # a sweep per second keeps add() O(1) amortised
            return
        self._next_sweep = now + 1.0
        cutoff = now - self.orphan_ttl_s
        for request_id in [r for r, g in self._open.items() if g.last_seen < cutoff]:
            del self._open[request_id]

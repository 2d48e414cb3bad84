"""Fan-in: gathers a plan and its task results, which arrive in any order. An expert
task may have several results (one per model asked); its last says `final`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from contracts import PlanCreated, TaskResult
from contracts.wire import Unconfirmed


@dataclass
class Gathering:
    plan: PlanCreated | None = None
    results: list[TaskResult] = field(default_factory=list)
    last_seen: float = field(default_factory=time.monotonic)
    sent: int = 0
    """Reply chunks the merger already sent for the request (progress lines)."""
    outbox: Unconfirmed | None = None
    """Those chunks, confirmed before the reply goes on."""

    @property
    def complete(self) -> bool:
        if self.plan is None:
            return False
        done = {r.task_id for r in self.results if r.final}
        return all(t.id in done for t in self.plan.tasks)


class FanIn:
    """Per-request state of this merger instance. moe.plans and moe.results are
    co-partitioned, so every event of a request reaches the same instance."""

    def __init__(self, orphan_ttl_s: float) -> None:
        self.orphan_ttl_s = orphan_ttl_s
        self._open: dict[str, Gathering] = {}
        self._next_sweep = 0.0

    def __len__(self) -> int:
        return len(self._open)

    def gathering(self, request_id: str) -> Gathering | None:
        return self._open.get(request_id)

    def add(self, event: PlanCreated | TaskResult) -> Gathering | None:
        """Record the event; when the request is complete, hand over its gathering (the
        plan, every result in arrival order) and forget it."""
        self._forget_orphans()
        gathering = self._open.setdefault(event.request_id, Gathering())
        gathering.last_seen = time.monotonic()
        if isinstance(event, PlanCreated):
            gathering.plan = event
        else:
            # A redelivered result replaces its earlier copy.
            gathering.results = [
                r
                for r in gathering.results
                if (r.task_id, r.model, r.worker_id)
                != (event.task_id, event.model, event.worker_id)
            ]
            gathering.results.append(event)
        if not gathering.complete or gathering.plan is None:
            return None
        del self._open[event.request_id]
        return gathering

    def reopen(self, plan: PlanCreated, results: list[TaskResult], sent: int = 0) -> None:
        """Wait again for `plan` (extended with a follow-up task), keeping its results."""
        self._open[plan.request_id] = Gathering(plan, list(results), sent=sent)

    def _forget_orphans(self) -> None:
        now = time.monotonic()
        if now < self._next_sweep:  # a sweep per second keeps add() O(1) amortised
            return
        self._next_sweep = now + 1.0
        cutoff = now - self.orphan_ttl_s
        for request_id in [r for r, g in self._open.items() if g.last_seen < cutoff]:
            del self._open[request_id]

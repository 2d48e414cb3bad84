"""The reference system's research fallback: when an expert is unsure of its answer
(CONFIDENCE: low) and web research is on, the merger asks for a targeted search before
it answers, and the citations join the answer."""

from __future__ import annotations

from contracts import ChatMessage, PlanCreated, TaskAssigned, TaskResult, TaskSpec


def needs_research(plan: PlanCreated, results: list[TaskResult]) -> bool:
    already = any(task.worker == "research" for task in plan.tasks)
    unsure = any(r.confidence == "low" and not r.error for r in results)
    return unsure and not already


def follow_up(plan: PlanCreated) -> tuple[PlanCreated, TaskAssigned]:
    """The plan extended with one research task, and that task's assignment."""
    spec = TaskSpec(
        id=f"{plan.request_id}:research",
        task=f"Find sources for: {plan.question}",
        category="research",
        worker="research",
        search_query=plan.question,
    )
    extended = plan.model_copy(update={"tasks": [*plan.tasks, spec]})
    assigned = TaskAssigned(
        request_id=plan.request_id,
        tenant=plan.tenant,
        task=spec,
        messages=[ChatMessage(role="user", content=plan.question or spec.task)],
        deadline_at=plan.deadline_at,
    )
    return extended, assigned

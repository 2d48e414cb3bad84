"""Turning a request into a plan. Each way of planning (precision routing here; the
cache, the router and the LLM planner elsewhere) yields a `Decision`: its tasks and how
it was made. `build_plan` turns a decision into the plan event and one TaskAssigned per
task, so every decision is on record in moe.plans."""

from __future__ import annotations

import re
from dataclasses import dataclass

import structlog

from contracts import PlanCreated, RequestReceived, TaskAssigned, TaskSpec
from contracts.events import PlanSource
from services.planner.precision import split
from services.planner.tool_catalog import ToolCatalog

log = structlog.get_logger()


@dataclass(frozen=True)
class Decision:
    tasks: list[TaskSpec]
    planned_by: PlanSource
    note: str | None = None
    distance: float | None = None
    margin: float | None = None


def last_user_text(request: RequestReceived) -> str:
    for message in reversed(request.messages):
        if message.role == "user" and message.content:
            return message.content
    return request.messages[-1].content


# Open WebUI's internal requests (title, tags, follow-up suggestions, autocomplete, ...)
# all use prompt templates that open a section with this header.
_CLIENT_TASK = re.compile(r"^\s*### Task:", re.MULTILINE)


def client_task(question: str) -> bool:
    """A client's own housekeeping request rather than a user's question."""
    return _CLIENT_TASK.search(question) is not None


def expert_task(request_id: str, number: int, text: str, category: str = "general") -> TaskSpec:
    return TaskSpec(id=f"{request_id}:{number}", task=text, category=category)


def fallback(request_id: str, question: str, reason: str) -> Decision:
    """One `general` expert task: what every question gets that nothing else settled."""
    return Decision([expert_task(request_id, 1, question)], "fallback", note=reason)


def precise(request_id: str, question: str, catalog: ToolCatalog) -> Decision | None:
    """A tool task with exact arguments when the question (or one clause of it) is one
    the precision tools answer; plus an expert task for an open clause beside it."""
    found = split(question)
    if found is None:
        return None
    call = found.call
    problem = catalog.check(call.tool, call.args)
    if problem is not None:
        log.info("precision_route_dropped", tool=call.tool, reason=problem)
        return None
    tool = TaskSpec(
        id=f"{request_id}:1",
        task=found.precise_part,
        category=call.family,
        worker="tool",
        tool=call.tool,
        args=call.args,
    )
    tasks = [tool]
    if found.open_part is not None:
        tasks.append(expert_task(request_id, 2, found.open_part))
    return Decision(tasks, "precision", note=call.tool)


def build_plan(
    request: RequestReceived, question: str, decision: Decision, cache_key: str | None = None
) -> tuple[PlanCreated, list[TaskAssigned]]:
    tasks = decision.tasks
    # Only a lone expert's tokens are streamed straight to the client; a tool answers at
    # once, whole, and several results are merged first.
    streamed = tasks[0].id if len(tasks) == 1 and tasks[0].worker == "expert" else None
    plan = PlanCreated(
        request_id=request.request_id,
        tenant=request.tenant,
        question=question,
        tasks=tasks,
        streaming_task_id=streamed,
        deadline_at=request.deadline_at,
        mode=request.mode,
        options=request.options,
        cache_key=cache_key,
        planned_by=decision.planned_by,
        plan_note=decision.note,
        distance=decision.distance,
        margin=decision.margin,
    )
    assigned = [
        TaskAssigned(
            request_id=request.request_id,
            tenant=request.tenant,
            task=task,
            messages=request.messages,
            mode=request.mode,
            options=request.options,
            stream_reply=task.id == streamed,
            deadline_at=request.deadline_at,
        )
        for task in tasks
    ]
    return plan, assigned

"""Turning a request into a plan. Plain arithmetic becomes one exact `calculate` tool
task; everything else one `general` expert task whose tokens stream straight to the
client. The cache, the semantic router and the LLM planner will add other plans without
changing this module's output shape."""

from __future__ import annotations

from contracts import PlanCreated, RequestReceived, TaskAssigned, TaskSpec
from services.planner.precision import arithmetic_expression
from services.planner.tool_catalog import ToolCatalog


def last_user_text(request: RequestReceived) -> str:
    for message in reversed(request.messages):
        if message.role == "user" and message.content:
            return message.content
    return request.messages[-1].content


def choose_task(request_id: str, question: str, catalog: ToolCatalog) -> TaskSpec:
    expression = arithmetic_expression(question)
    if expression is not None and catalog.get("calculate") is not None:
        return TaskSpec(
            id=f"{request_id}:1",
            task=question,
            category="math",
            worker="tool",
            tool="calculate",
            args={"expression": expression},
        )
    return TaskSpec(id=f"{request_id}:1", task=question)


def plan_request(
    request: RequestReceived, catalog: ToolCatalog, cache_key: str | None = None
) -> tuple[PlanCreated, list[TaskAssigned]]:
    question = last_user_text(request)
    task = choose_task(request.request_id, question, catalog)
    # Only an expert's tokens are worth streaming; a tool answers at once, whole.
    streamed = task.worker == "expert"
    plan = PlanCreated(
        request_id=request.request_id,
        tenant=request.tenant,
        question=question,
        tasks=[task],
        streaming_task_id=task.id if streamed else None,
        deadline_at=request.deadline_at,
        mode=request.mode,
        options=request.options,
        cache_key=cache_key,
    )
    assigned = TaskAssigned(
        request_id=request.request_id,
        tenant=request.tenant,
        task=task,
        messages=request.messages,
        mode=request.mode,
        options=request.options,
        stream_reply=streamed,
        deadline_at=request.deadline_at,
    )
    return plan, [assigned]

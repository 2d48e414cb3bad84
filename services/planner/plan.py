"""Turning a request into a plan. For now every request becomes one `general` expert
task whose tokens stream straight to the client; the cache, the semantic router and
the LLM planner will add other plans without changing this module's output shape."""

from __future__ import annotations

from contracts import PlanCreated, RequestReceived, TaskAssigned, TaskSpec


def last_user_text(request: RequestReceived) -> str:
    for message in reversed(request.messages):
        if message.role == "user" and message.content:
            return message.content
    return request.messages[-1].content


def plan_request(request: RequestReceived) -> tuple[PlanCreated, list[TaskAssigned]]:
    question = last_user_text(request)
    task = TaskSpec(id=f"{request.request_id}:1", task=question)
    plan = PlanCreated(
        request_id=request.request_id,
        tenant=request.tenant,
        question=question,
        tasks=[task],
        streaming_task_id=task.id,
        deadline_at=request.deadline_at,
    )
    assigned = TaskAssigned(
        request_id=request.request_id,
        tenant=request.tenant,
        task=task,
        messages=request.messages,
        mode=request.mode,
        options=request.options,
        stream_reply=True,
        deadline_at=request.deadline_at,
    )
    return plan, [assigned]

"""Progress lines for the client's thinking panel: the plan, then each result as it
arrives, sent as `reasoning` chunks (the gateway relays them as
`delta.reasoning_content`) while the pipeline works. A client that ignores reasoning
content sees a normal answer.

Only plans whose answer the merger writes get them: a streamed single-expert plan's
chunks come from the expert, and its first token is the client's best progress."""

from __future__ import annotations

from contracts import PlanCreated, ReplyChunk, TaskResult
from services.merger.merge import failed


def plan_line(plan: PlanCreated) -> str:
    names = [t.tool or t.category if t.worker == "tool" else t.category for t in plan.tasks]
    count = f"{len(plan.tasks)} task" + ("s" if len(plan.tasks) != 1 else "")
    return f"Plan: {count}: {', '.join(names)}\n"


def result_line(result: TaskResult) -> str:
    source = result.model or result.worker_id or "worker"
    took = max(result.finished_at - result.started_at, 0.0)
    tier = f" (tier {result.tier})" if result.tier else ""
    reason = failed(result)
    if reason is not None:
        return f"- {result.category}: {source}{tier} failed after {took:.1f} s\n"
    confidence = result.confidence or "n/a"
    return f"- {result.category}: {source}{tier}, confidence {confidence}, {took:.1f} s\n"


def shows_progress(plan: PlanCreated | None) -> bool:
    return plan is not None and plan.streaming_task_id is None


def reasoning_chunk(plan: PlanCreated, seq: int, text: str) -> ReplyChunk:
    return ReplyChunk(
        request_id=plan.request_id, tenant=plan.tenant, seq=seq, delta=text, channel="reasoning"
    )

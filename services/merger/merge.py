"""What the client gets once every result of a plan is in.

A streamed single-expert plan already sent its tokens: only ReplyDone remains. Other
plans are combined in source-priority order (judge synthesis replaces this step in the
merger issue; the events it emits keep this shape)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce

from contracts import (
    AnswerCommitted,
    PlanCreated,
    ReplyChunk,
    ReplyDone,
    ReplyError,
    ReplyEvent,
    TaskResult,
    Usage,
    response_id_for,
)

# Source priority from the reference system: reasoning > tools > graph > experts > web.
PRIORITY = {"reasoning": 0, "tool": 1, "graph": 2, "expert": 3, "research": 4}


@dataclass(frozen=True)
class Outcome:
    replies: list[ReplyEvent]
    answer: AnswerCommitted | None


def total_usage(results: list[TaskResult]) -> Usage:
    return reduce(lambda a, b: a + b, (r.usage for r in results), Usage())


def _failure(plan: PlanCreated, results: list[TaskResult], seq: int) -> Outcome:
    reasons = "; ".join(r.error or "" for r in results if r.error)
    error = ReplyError(
        request_id=plan.request_id,
        tenant=plan.tenant,
        seq=seq,
        status=502,
        code="upstream_error",
        message=f"No answer could be produced: {reasons}",
    )
    return Outcome([error], None)


def _combined(plan: PlanCreated, results: list[TaskResult]) -> str:
    workers = {t.id: t.worker for t in plan.tasks}
    ok = [r for r in results if not r.error and r.output]
    ok.sort(key=lambda r: PRIORITY.get(r.category, PRIORITY.get(workers[r.task_id], 9)))
    return "\n\n".join(r.output for r in ok)


def merge(plan: PlanCreated, results: list[TaskResult]) -> Outcome:
    streamed = next((r for r in results if r.task_id == plan.streaming_task_id), None)
    seq = streamed.streamed_chunks if streamed else 0
    if streamed is not None and streamed.error:
        return _failure(plan, results, seq)
    if all(r.error for r in results):
        return _failure(plan, results, seq)

    replies: list[ReplyEvent] = []
    if streamed is not None:
        text, finish = streamed.output, streamed.finish_reason or "stop"
        # Results beyond the streamed one (a research follow-up) extend the stream.
        extra = _combined(plan, [r for r in results if r is not streamed])
        if extra:
            delta = f"\n\n{extra}"
            replies.append(
                ReplyChunk(request_id=plan.request_id, tenant=plan.tenant, seq=seq, delta=delta)
            )
            text, seq = text + delta, seq + 1
    else:
        text, finish = _combined(plan, results), "stop"
        replies.append(
            ReplyChunk(request_id=plan.request_id, tenant=plan.tenant, seq=0, delta=text)
        )
        seq = 1
    usage = total_usage(results)
    # Only a whole answer is worth serving again: none cut short, none missing a part.
    cacheable = finish == "stop" and not any(r.error for r in results)
    replies.append(
        ReplyDone(
            request_id=plan.request_id,
            tenant=plan.tenant,
            seq=seq,
            finish_reason=finish,
            usage=usage,
        )
    )
    answer = AnswerCommitted(
        request_id=plan.request_id,
        tenant=plan.tenant,
        response_id=response_id_for(plan.request_id),
        question=plan.question,
        answer=text,
        usage=usage,
        task_ids=[t.id for t in plan.tasks],
        cache_key=plan.cache_key if cacheable else None,
    )
    return Outcome(replies, answer)

"""What the client gets once every result of a plan is in, when no judge writes it.

A streamed single-expert plan already sent its tokens: only ReplyDone remains (plus any
research follow-up, appended to the stream). A plan with one usable result, or whose
usable results all come from precision tools, is passed through exactly. Other plans go
to the judge (services.merger.synthesis); `merge` is also its fallback, and what every
plan gets with synthesis off: the results concatenated in source-priority order."""

from __future__ import annotations

import time
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
from contracts.events import FinishReason
from contracts.expert_report import parse_report

# Source priority from the reference system: reasoning > tools > graph > experts > web >
# cache.
PRIORITY = {"reasoning": 0, "tool": 1, "graph": 2, "expert": 3, "research": 4, "cache": 5}
CONFIDENCE_RANK = {"high": 0, "medium": 1, "low": 2}


@dataclass(frozen=True)
class Outcome:
    replies: list[ReplyEvent]
    answer: AnswerCommitted | None


def total_usage(results: list[TaskResult]) -> Usage:
    return reduce(lambda a, b: a + b, (r.usage for r in results), Usage())


def failure(plan: PlanCreated, seq: int, message: str) -> ReplyError:
    """502 for a failure upstream; 504 once the request's deadline has passed, whatever
    failed: the gateway answers its own 504 at that moment, and which of the two reached
    the client first must not decide what the client is told."""
    late = plan.deadline_at is not None and plan.deadline_at <= time.time()
    return ReplyError(
        request_id=plan.request_id,
        tenant=plan.tenant,
        seq=seq,
        status=504 if late else 502,
        code="timeout" if late else "upstream_error",
        message=f"No reply before the deadline ({message})" if late else message,
    )


def failed(result: TaskResult) -> str | None:
    """Why a result is no answer: its error, or an empty output (never a success)."""
    if result.error:
        return result.error
    if not result.output.strip():
        source = result.model or result.worker_id or f"task {result.task_id}"
        return f"{source!r} answered nothing"
    return None


def streamed_result(plan: PlanCreated, results: list[TaskResult]) -> TaskResult | None:
    """The result whose tokens already went to the client, if any did."""
    return next(
        (r for r in results if r.task_id == plan.streaming_task_id and r.streamed_chunks > 0),
        None,
    )


def chosen(plan: PlanCreated, trail: list[TaskResult]) -> list[TaskResult]:
    """One result per task of the plan, in plan order: the one the client already saw,
    else the most confident usable one (the higher tier on a tie: it was asked because
    tier 1 was unsure), else the task's final (failed) one."""
    picked: list[TaskResult] = []
    for task in plan.tasks:
        mine = [r for r in trail if r.task_id == task.id]
        seen = streamed_result(plan, mine)
        usable = [r for r in mine if failed(r) is None]
        if seen is not None:
            picked.append(seen)
        elif usable:
            rank = lambda r: (CONFIDENCE_RANK.get(r.confidence or "medium", 1), -(r.tier or 1))  # noqa: E731
            picked.append(min(usable, key=rank))
        elif mine:
            picked.append(next((r for r in mine if r.final), mine[-1]))
    return picked


def shown(plan: PlanCreated, result: TaskResult) -> str:
    """What a source says: a tool's output verbatim, an expert's answer without its
    report labels (its DETAILS, else its CORE_FINDING)."""
    workers = {t.id: t.worker for t in plan.tasks}
    if workers.get(result.task_id) != "expert" or result.streamed_chunks:
        return result.output
    return parse_report(result.output).answer or result.output


def models_used(results: list[TaskResult]) -> list[str]:
    """`model::category` of each result an answer was made from."""
    return [f"{r.model}::{r.category}" for r in results if r.model and failed(r) is None]


def _failure(plan: PlanCreated, results: list[TaskResult], seq: int) -> Outcome:
    reasons = "; ".join(reason for r in results if (reason := failed(r)))
    return Outcome([failure(plan, seq, f"No answer could be produced: {reasons}")], None)


def sources(plan: PlanCreated, results: list[TaskResult]) -> list[TaskResult]:
    """The usable results, highest source priority first (stable within a priority)."""
    workers = {t.id: t.worker for t in plan.tasks}
    ok = [r for r in results if failed(r) is None]
    return sorted(ok, key=lambda r: PRIORITY.get(r.category, PRIORITY.get(workers[r.task_id], 9)))


def _combined(plan: PlanCreated, results: list[TaskResult]) -> str:
    return "\n\n".join(shown(plan, r) for r in sources(plan, results))


def needs_synthesis(plan: PlanCreated, results: list[TaskResult]) -> bool:
    """Whether a judge should write the answer: several usable results, not all from
    precision tools (a tool's exact value is passed through, never rewritten by a model),
    and no expert already streamed its tokens to the client."""
    if streamed_result(plan, results) is not None:
        return False
    return len(sources(plan, results)) > 1 and not only_tools(plan, results)


def only_tools(plan: PlanCreated, results: list[TaskResult]) -> bool:
    workers = {t.id: t.worker for t in plan.tasks}
    return all(workers[r.task_id] == "tool" for r in sources(plan, results))


def closing(
    plan: PlanCreated,
    results: list[TaskResult],
    text: str,
    finish: FinishReason,
    seq: int,
    usage: Usage,
    models: list[str] | None = None,
) -> tuple[ReplyDone, AnswerCommitted]:
    """The reply's end (after `seq` chunks) and the committed answer."""
    # Only a whole answer is worth serving again: none cut short, none missing a part,
    # none empty.
    cacheable = finish == "stop" and bool(text.strip()) and not any(map(failed, results))
    done = ReplyDone(
        request_id=plan.request_id, tenant=plan.tenant, seq=seq, finish_reason=finish, usage=usage
    )
    answer = AnswerCommitted(
        request_id=plan.request_id,
        tenant=plan.tenant,
        response_id=response_id_for(plan.request_id),
        question=plan.question,
        answer=text,
        usage=usage,
        task_ids=[t.id for t in plan.tasks],
        models=models_used(results) if models is None else models,
        cache_key=plan.cache_key if cacheable else None,
    )
    return done, answer


def merge(
    plan: PlanCreated,
    results: list[TaskResult],
    trail: list[TaskResult] | None = None,
    seq: int = 0,
) -> Outcome:
    """The answer made without a judge from `results` (one per task, `chosen`), after
    `seq` chunks the merger already sent; usage counts every result of the `trail`."""
    streamed = streamed_result(plan, results)
    seq = streamed.streamed_chunks if streamed else seq
    # A streamed expert that failed leaves the client nothing to keep: the stream ends
    # with ReplyError (after whatever it sent), never an empty ReplyDone.
    if streamed is not None and failed(streamed):
        return _failure(plan, results, seq)
    if not sources(plan, results):
        return _failure(plan, results, seq)

    replies: list[ReplyEvent] = []
    finish: FinishReason = "stop"
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
        text = _combined(plan, results)
        replies.append(
            ReplyChunk(request_id=plan.request_id, tenant=plan.tenant, seq=seq, delta=text)
        )
        seq += 1
    usage = plan.usage + total_usage(trail if trail is not None else results)
    done, answer = closing(plan, results, text, finish, seq, usage)
    return Outcome([*replies, done], answer)

"""A task's panel: which of the category's models answer it, and when.

- A streamed task (a single-expert plan) whose category has one tier and is not
  reviewed by the merger's critic (medical, legal): its models are
  asked one after another, best score first, and the first to answer speaks to the
  client; a model that fails before any of its tokens were sent is replaced by the next
  (tokens already streamed cannot be taken back).
- Otherwise the tiers: every tier-1 model at once, in the report format; tier 2 (all at
  once) only when no tier-1 answer is `high`. A streamed task in a two-tier category is
  not streamed: its tier-1 answer might be overruled by tier 2, and the client must not
  get two contradicting streams. The merger then passes the best answer through. Nor
  is a reviewed category's: the critic speaks before the client reads anything.

Each model's answer is its own TaskResult, published as it arrives; the task's last
says `final`, which is what the merger waits for."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from itertools import groupby

import structlog

from contracts import TaskAssigned, TaskResult
from contracts.expert_report import REVIEWED_CATEGORIES
from services.experts.answer import PublishChunk, Settle, stream_answer
from services.experts.models import ExpertBinding

PublishResult = Callable[[TaskResult], Awaitable[None]]
log = structlog.get_logger()


def expired(task: TaskAssigned) -> bool:
    return task.deadline_at is not None and task.deadline_at < time.time()


def tiers(bindings: Sequence[ExpertBinding]) -> list[list[ExpertBinding]]:
    """The bindings grouped by tier, tier 1 first, each group in the given order."""
    ordered = sorted(bindings, key=lambda b: b.tier)  # stable: score order kept per tier
    return [list(group) for _, group in groupby(ordered, key=lambda b: b.tier)]


async def answer_task(
    bindings: Sequence[ExpertBinding],
    task: TaskAssigned,
    publish_chunk: PublishChunk,
    publish_result: PublishResult,
    worker_id: str,
    max_output_chars: int,
    settle: Settle | None = None,
) -> None:
    grouped = tiers(bindings)
    streams = task.stream_reply and task.task.category not in REVIEWED_CATEGORIES
    if streams and len(grouped) == 1:
        await _streamed(grouped[0], task, publish_chunk, publish_result, worker_id, settle)
    else:
        await _tiered(grouped, task, publish_result, worker_id, max_output_chars)


async def _streamed(
    bindings: list[ExpertBinding],
    task: TaskAssigned,
    publish_chunk: PublishChunk,
    publish_result: PublishResult,
    worker_id: str,
    settle: Settle | None,
) -> None:
    for attempt, binding in enumerate(bindings, start=1):
        result = await stream_answer(binding, task, publish_chunk, worker_id, 0, settle)
        last = attempt == len(bindings) or result.streamed_chunks > 0 or expired(task)
        final = result.error is None or last
        await publish_result(result.model_copy(update={"final": final}))
        if final:
            return
        log.warning(
            "expert_model_replaced",
            request_id=task.request_id,
            error=result.error,
            next_model=bindings[attempt].model,
        )


async def _tiered(
    grouped: list[list[ExpertBinding]],
    task: TaskAssigned,
    publish_result: PublishResult,
    worker_id: str,
    max_output_chars: int,
) -> None:
    for index, tier in enumerate(grouped):
        calls = [
            asyncio.create_task(stream_answer(b, task, None, worker_id, max_output_chars))
            for b in tier
        ]
        try:
            results: list[TaskResult] = []
            for arrival in asyncio.as_completed(calls):
                result = await arrival
                results.append(result)
                complete = len(results) == len(calls)
                confident = any(r.confidence == "high" for r in results)
                more = index + 1 < len(grouped) and not confident and not expired(task)
                await publish_result(result.model_copy(update={"final": complete and not more}))
        finally:
            for call in calls:
                call.cancel()
        if confident or expired(task):
            return
        if index + 1 < len(grouped):
            log.info(
                "expert_escalated", request_id=task.request_id, to_tier=grouped[index + 1][0].tier
            )

"""One expert answer: stream the model's tokens (to moe.replies when the plan asks)
and summarise the call as a TaskResult."""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable

import httpx
import structlog

from contracts import ReplyChunk, TaskAssigned, TaskResult, Usage
from contracts.events import Confidence
from contracts.model_stream import ModelCallError, estimated_usage, finish_reason
from services.experts.models import ExpertBinding
from services.experts.prompts import build_messages

CONFIDENCE_LINE = re.compile(r"CONFIDENCE:\W*(high|medium|low)\b", re.IGNORECASE)
# A merged answer quotes several experts: each is capped so none crowds out the others.
MERGE_OUTPUT_CHARS = 2400
PublishChunk = Callable[[ReplyChunk], Awaitable[None]]
log = structlog.get_logger()


async def stream_answer(
    binding: ExpertBinding, task: TaskAssigned, publish: PublishChunk, worker_id: str
) -> TaskResult:
    started = time.time()
    parts: list[str] = []
    usage: Usage | None = None
    first_token_at: float | None = None
    finished: str | None = None
    error: str | None = None
    prompt = build_messages(task, binding.category)
    try:
        async for piece in binding.client.stream(binding.model, prompt, task.options):
            usage = piece.usage or usage
            finished = piece.finish_reason or finished
            if not piece.text:
                continue
            first_token_at = first_token_at or time.time()
            if task.stream_reply:
                # Sent unconfirmed, in order; all are confirmed before the TaskResult
                # that lets the merger finish (services.experts.app).
                await publish(
                    ReplyChunk(
                        request_id=task.request_id,
                        tenant=task.tenant,
                        seq=len(parts),
                        delta=piece.text,
                    )
                )
            parts.append(piece.text)
    except (ModelCallError, httpx.HTTPError) as exc:
        error = f"model {binding.model!r} failed: {type(exc).__name__}: {exc}"
        log.warning("expert_call_failed", request_id=task.request_id, error=error)
    output = "".join(parts)
    if not task.stream_reply:
        output = output[:MERGE_OUTPUT_CHARS]
    return TaskResult.answering(
        task,
        category=binding.category,
        worker_id=worker_id,
        output=output,
        error=error,
        confidence=stated_confidence(output),
        model=binding.model,
        usage=usage or estimated_usage(prompt, len(parts)),
        finish_reason=finish_reason(finished),
        streamed_chunks=len(parts) if task.stream_reply else 0,
        started_at=started,
        first_token_at=first_token_at,
    )


def stated_confidence(output: str) -> Confidence | None:
    match = CONFIDENCE_LINE.search(output)
    return match.group(1).lower() if match else None  # type: ignore[return-value]

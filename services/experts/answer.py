"""One expert answer: stream the model's tokens (to moe.replies when the plan asks)
and summarise the call as a TaskResult. An empty or cut-off answer is a failure, and
the category's next model (EXPERT_MODELS order) stands in while nothing was streamed."""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Sequence

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


async def answer(
    bindings: Sequence[ExpertBinding], task: TaskAssigned, publish: PublishChunk, worker_id: str
) -> TaskResult:
    """The first of the category's models that answers. A model that fails before any
    of its tokens reached the client is replaced by the next (tokens already streamed
    cannot be taken back); the result's usage counts every attempt."""
    started, usage = time.time(), Usage()
    for attempt, binding in enumerate(bindings, start=1):
        result = await stream_answer(binding, task, publish, worker_id)
        usage += result.usage
        last = attempt == len(bindings) or result.streamed_chunks > 0
        expired = task.deadline_at is not None and task.deadline_at < time.time()
        if result.error is None or last or expired:
            break
        log.warning(
            "expert_model_replaced",
            request_id=task.request_id,
            error=result.error,
            next_model=bindings[attempt].model,
        )
    return result.model_copy(update={"usage": usage, "started_at": started})


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
    if error is None and not parts:
        # The client holds back leading whitespace, so no parts means nothing visible.
        error = f"model {binding.model!r} answered nothing (finish_reason {finished!r})"
    if error is not None:
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
        # A failed answer is worth little whatever it claims of itself.
        confidence="low" if error else stated_confidence(output),
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

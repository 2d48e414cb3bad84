"""One model's answer to a task: stream its tokens (to moe.replies when this model
speaks to the client), cap what feeds a merge, and summarise the call as a TaskResult."""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable

import structlog

from contracts import ReplyChunk, TaskAssigned, TaskResult
from contracts.expert_report import confidence_of
from contracts.model_stream import ModelCallError, estimated_usage, finish_reason
from services.experts.models import ExpertBinding
from services.experts.prompts import build_messages

PublishChunk = Callable[[ReplyChunk], Awaitable[None]]
Settle = Callable[[], Awaitable[None]]
"""Returns once the chunks published so far have been acknowledged (or have failed)."""
# A sentence ends at . ! ? (or a line break) followed by whitespace.
SENTENCE_END = re.compile(r"[.!?](?=\s)|\n")
log = structlog.get_logger()


def cap_output(text: str, limit: int) -> tuple[str, int | None]:
    """`text` cut to at most `limit` characters at the last sentence end inside it (at
    the limit itself when no sentence ends in its second half), and the length it had
    when it was cut (None: not cut)."""
    if len(text) <= limit:
        return text, None
    head = text[:limit]
    ends = [m.end() for m in SENTENCE_END.finditer(head)]
    cut = ends[-1] if ends and ends[-1] >= limit // 2 else limit
    return head[:cut].rstrip(), len(text)


async def stream_answer(
    binding: ExpertBinding,
    task: TaskAssigned,
    publish: PublishChunk | None,
    worker_id: str,
    max_output_chars: int,
    settle: Settle | None = None,
) -> TaskResult:
    """Ask one model. With `publish`, its tokens go to the client as they come, in
    plain prose; without, it answers in the report format (its confidence decides
    escalation) and its answer is capped. `settle` is awaited when the model reports
    its finish."""
    started = time.time()
    parts: list[str] = []
    usage = None
    first_token_at: float | None = None
    finished: str | None = None
    error: str | None = None
    prompt = build_messages(task, binding.category, report=publish is None)
    try:
        async for piece in binding.client.stream(binding.model, prompt, task.options):
            usage = piece.usage or usage
            finished = piece.finish_reason or finished
            if piece.text:
                first_token_at = first_token_at or time.time()
                if publish is not None:
                    # Sent unconfirmed, in order; all are confirmed before the TaskResult
                    # that lets the merger finish (services.experts.app).
                    chunk = ReplyChunk(
                        request_id=task.request_id,
                        tenant=task.tenant,
                        seq=len(parts),
                        delta=piece.text,
                    )
                    await publish(chunk)
                parts.append(piece.text)
            if piece.finish_reason is not None and settle is not None:
                # The producer needs a few turns of the event loop to put a chunk on the
                # wire, and this task takes none while the rest of the stream (usage,
                # [DONE]) is read and closed: the last token left after all of that.
                await settle()
    except ModelCallError as exc:
        error = f"model {binding.model!r} failed: {type(exc).__name__}: {exc}"
    if error is None and not parts:
        # The client holds back leading whitespace, so no parts means nothing visible.
        error = f"model {binding.model!r} answered nothing (finish_reason {finished!r})"
    if error is not None:
        log.warning("expert_call_failed", request_id=task.request_id, error=error)
    output, capped_from = "".join(parts), None
    if publish is None:  # what the client saw is kept whole; a merge input is capped
        output, capped_from = cap_output(output, max_output_chars)
    return TaskResult.answering(
        task,
        category=binding.category,
        worker_id=worker_id,
        output=output,
        error=error,
        confidence=confidence_of(output, failed=error is not None),
        model=binding.model,
        tier=binding.tier,
        usage=usage or estimated_usage(prompt, len(parts)),
        finish_reason=finish_reason(finished),
        streamed_chunks=len(parts) if publish is not None else 0,
        started_at=started,
        first_token_at=first_token_at,
        capped_from=capped_from,
        note=binding.note,
    )

"""One expert answer: stream the model's tokens (to moe.replies when the plan asks)
and summarise the call as a TaskResult."""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import openai
import structlog
from openai import Omit, omit
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionStreamOptionsParam

from contracts import ReplyChunk, TaskAssigned, TaskResult, Usage
from contracts.events import Confidence
from services.experts.models import ExpertBinding
from services.experts.prompts import build_messages

T = TypeVar("T")
CONFIDENCE_LINE = re.compile(r"CONFIDENCE:\W*(high|medium|low)\b", re.IGNORECASE)
# A merged answer quotes several experts: each is capped so none crowds out the others.
MERGE_OUTPUT_CHARS = 2400
STREAM_USAGE: ChatCompletionStreamOptionsParam = {"include_usage": True}
PublishChunk = Callable[[ReplyChunk], Awaitable[None]]
log = structlog.get_logger()


def _given(value: T | None) -> T | Omit:
    """Unset options are left out of the call, not sent as null."""
    return omit if value is None else value


async def stream_answer(
    binding: ExpertBinding, task: TaskAssigned, publish: PublishChunk, worker_id: str
) -> TaskResult:
    started = time.time()
    parts: list[str] = []
    usage: Usage | None = None
    first_token_at: float | None = None
    finish_reason: str | None = None
    error: str | None = None
    prompt = build_messages(task, binding.category)
    try:
        stream = await binding.client.chat.completions.create(
            model=binding.model,
            messages=prompt,
            stream=True,
            stream_options=STREAM_USAGE,
            temperature=_given(task.options.temperature),
            top_p=_given(task.options.top_p),
            max_tokens=_given(task.options.max_tokens),
            stop=_given(task.options.stop),
        )
        async for event in stream:
            if event.usage is not None:
                usage = Usage(
                    prompt_tokens=event.usage.prompt_tokens,
                    completion_tokens=event.usage.completion_tokens,
                )
            for choice in event.choices:
                finish_reason = choice.finish_reason or finish_reason
                delta = choice.delta.content if choice.delta else None
                if not delta:
                    continue
                first_token_at = first_token_at or time.time()
                if task.stream_reply:
                    # Awaited: the chunk is in the log before the next one, and all of
                    # them are before the TaskResult that lets the merger finish.
                    await publish(
                        ReplyChunk(
                            request_id=task.request_id,
                            tenant=task.tenant,
                            seq=len(parts),
                            delta=delta,
                        )
                    )
                parts.append(delta)
    except openai.APIError as exc:
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
        usage=usage or estimated_usage(prompt, parts),
        finish_reason="length" if finish_reason == "length" else "stop",
        streamed_chunks=len(parts) if task.stream_reply else 0,
        started_at=started,
        first_token_at=first_token_at,
    )


def stated_confidence(output: str) -> Confidence | None:
    match = CONFIDENCE_LINE.search(output)
    return match.group(1).lower() if match else None  # type: ignore[return-value]


def estimated_usage(prompt: list[ChatCompletionMessageParam], parts: list[str]) -> Usage:
    """For servers that do not report usage in streams: one chunk is about one token,
    and English prompts run about four characters a token. Counted over the prompt the
    model was sent (system prompt and trimmed history included), not the client's."""
    prompt_chars = sum(len(str(m.get("content") or "")) for m in prompt)
    return Usage(prompt_tokens=max(1, prompt_chars // 4), completion_tokens=len(parts))

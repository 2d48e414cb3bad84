"""Turns a request's reply events into the OpenAI response: SSE chunks or one completion."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from pydantic_core import to_json

from contracts import ReplyChunk, ReplyDone, ReplyError, ReplyEvent
from contracts.http_errors import error_body
from services.gateway.openai_models import chunk, completion, usage_chunk
from services.gateway.replies import ReplyStream, ReplyTimeout

DONE = b"data: [DONE]\n\n"


def sse(payload: dict[str, Any], event_id: int | None = None) -> bytes:
    prefix = f"id: {event_id}\n".encode() if event_id is not None else b""
    return prefix + b"data: " + to_json(payload) + b"\n\n"


def timeout_error() -> ReplyError:
    return ReplyError(
        request_id="-", status=504, code="timeout", message="No reply before the deadline."
    )


async def stream_events(
    stream: ReplyStream, first: ReplyEvent, response_id: str, model: str, include_usage: bool
) -> AsyncIterator[bytes]:
    """OpenAI chunk order: role chunk, content chunks, finish_reason chunk, usage chunk
    (when asked), [DONE]. An error mid-stream becomes an error event, then [DONE].

    Every token is its own SSE event, written as it arrives. Events that exist at the
    same instant share one write: the role chunk goes with the first reply event, the
    tokens that arrived together (under load, one fetch often brings several) with each
    other, and the finish, usage and [DONE] events with each other (a socket write is a
    syscall, the gateway's largest cost)."""
    pending = sse(chunk(response_id, model, {"role": "assistant", "content": ""}))
    event = first
    while True:
        if isinstance(event, ReplyChunk):
            if event.delta:
                # Reasoning (progress, the thinking step) is the field clients show in
                # a thinking panel; those that do not know it see only the answer.
                field = "reasoning_content" if event.channel == "reasoning" else "content"
                pending += sse(chunk(response_id, model, {field: event.delta}), event.seq)
        elif isinstance(event, ReplyDone):
            pending += sse(chunk(response_id, model, {}, event.finish_reason), event.seq)
            if include_usage:
                pending += sse(usage_chunk(response_id, model, event.usage))
            yield pending + DONE
            return
        else:
            yield pending + sse(error_body(event.status, event.message, event.code, None)) + DONE
            return
        ready = stream.ready()
        if ready is not None:  # arrived meanwhile: its event shares the write
            event = ready
            continue
        if pending:
            yield pending
            pending = b""
        try:
            event = await stream.next()
        except ReplyTimeout:
            event = timeout_error()


async def collect(
    stream: ReplyStream, first: ReplyEvent, response_id: str, model: str
) -> dict[str, Any] | ReplyError:
    """The whole answer as one chat.completion, or the error that ended it."""
    parts: list[str] = []
    reasoning: list[str] = []
    event = first
    while True:
        if isinstance(event, ReplyChunk):
            (reasoning if event.channel == "reasoning" else parts).append(event.delta)
        elif isinstance(event, ReplyDone):
            text, thought = "".join(parts), "".join(reasoning) or None
            return completion(response_id, model, text, event.finish_reason, event.usage, thought)
        else:
            return event
        try:
            event = await stream.next()
        except ReplyTimeout:
            return timeout_error()

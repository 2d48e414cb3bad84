"""One soak request through the official `openai` client, as an application sends it,
and what came of it: latency, time to first token, and a named error kind when it
failed (the client's own retries are off, so each failure is the gateway's answer)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import openai

from bench.soak_mix import Ask


@dataclass(frozen=True)
class Outcome:
    ask: Ask
    finished_at: float
    """time.monotonic() when the answer (or the error) was complete."""
    latency_s: float
    error: str | None = None
    """None on success; otherwise a short kind: http_504, client_timeout, connection…"""
    ttft_s: float | None = None
    finish_reason: str | None = None
    completion_tokens: int | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def new_client(base_url: str, timeout_s: float) -> openai.AsyncOpenAI:
    """The SDK's default connection pool (httpx, 5 s keep-alive expiry), no retries."""
    return openai.AsyncOpenAI(base_url=base_url, api_key="unused", timeout=timeout_s, max_retries=0)


def error_kind(exc: Exception) -> str:
    if isinstance(exc, openai.APITimeoutError):
        return "client_timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "connection"
    if isinstance(exc, openai.APIStatusError):
        return f"http_{exc.status_code}"
    if isinstance(exc, openai.APIError):  # an error event inside a stream
        return "stream_error"
    return type(exc).__name__


async def _streamed(client: openai.AsyncOpenAI, ask: Ask, started: float) -> Outcome:
    stream = await client.chat.completions.create(
        model=ask.mode,
        messages=[{"role": "user", "content": ask.question}],
        max_tokens=ask.max_tokens,
        stream=True,
        stream_options={"include_usage": True},
    )
    parts: list[str] = []
    ttft: float | None = None
    finish: str | None = None
    tokens: int | None = None
    async for chunk in stream:
        if chunk.usage is not None:
            tokens = chunk.usage.completion_tokens
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        if choice.delta.content:
            if ttft is None:
                ttft = time.monotonic() - started
            parts.append(choice.delta.content)
        finish = choice.finish_reason or finish
    return _checked(ask, started, "".join(parts), finish, tokens, ttft)


async def _whole(client: openai.AsyncOpenAI, ask: Ask, started: float) -> Outcome:
    completion = await client.chat.completions.create(
        model=ask.mode,
        messages=[{"role": "user", "content": ask.question}],
        max_tokens=ask.max_tokens,
    )
    choice = completion.choices[0]
    tokens = completion.usage.completion_tokens if completion.usage else None
    return _checked(ask, started, choice.message.content or "", choice.finish_reason, tokens)


def _checked(
    ask: Ask,
    started: float,
    text: str,
    finish: str | None,
    tokens: int | None,
    ttft: float | None = None,
) -> Outcome:
    error = None
    if not text.strip():
        error = "empty_answer"
    elif ask.expect is not None and ask.expect not in text.replace(",", ""):
        error = "wrong_answer"
    elif finish is None:
        error = "no_finish_reason"
    now = time.monotonic()
    return Outcome(ask, now, now - started, error, ttft, finish, tokens)


async def send(client: openai.AsyncOpenAI, ask: Ask) -> Outcome:
    """Ask once; never raises for a failed request (the soak counts failures)."""
    started = time.monotonic()
    try:
        if ask.stream:
            return await _streamed(client, ask, started)
        return await _whole(client, ask, started)
    except Exception as exc:  # every failure becomes a counted error kind
        now = time.monotonic()
        return Outcome(ask, now, now - started, error_kind(exc))

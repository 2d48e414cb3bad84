"""Streamed chat completions from an OpenAI-compatible server (vLLM, Ollama, llama.cpp,
LiteLLM), over httpx with httpx-sse reading the event stream.

Why not the openai SDK on this path: for every request it walks the parameters through
its TypedDict transform, and for every token it builds a ChatCompletionChunk model; in
`make bench --profile` that was about 60 % of an expert's CPU and ~1 ms of its time to
first token. The wire format (a JSON body; SSE `data:` events of JSON chunks; `[DONE]`)
is small and stable, so the experts and the judge read it directly. The official openai
client is what the tests use against the gateway, as a user would."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import httpx
from httpx_sse import SSEError, aconnect_sse

from contracts.events import FinishReason, GenerationOptions, Usage
from contracts.inference import InferenceServer

Prompt = Sequence[dict[str, str]]
"""Chat messages as the server takes them: [{"role": ..., "content": ...}, ...]."""


class ModelCallError(Exception):
    """The model server refused the call or broke off its stream."""


@dataclass(frozen=True)
class Piece:
    """What one streamed chunk carried: text, the end of the answer, or usage."""

    text: str = ""
    finish_reason: str | None = None
    usage: Usage | None = None


def chat_body(model: str, prompt: Prompt, options: GenerationOptions) -> dict[str, Any]:
    """A streamed chat request; unset options are left out, not sent as null."""
    body: dict[str, Any] = {
        "model": model,
        "messages": list(prompt),
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    body.update(options.model_dump(exclude_none=True))
    return body


def _pieces(chunk: dict[str, Any]) -> list[Piece]:
    if "error" in chunk:  # some servers report a failure inside the stream
        raise ModelCallError(f"error in stream: {chunk['error']}")
    found: list[Piece] = []
    for choice in chunk.get("choices") or []:
        delta = choice.get("delta") or {}
        text, finish = delta.get("content") or "", choice.get("finish_reason")
        if text or finish:
            found.append(Piece(text=text, finish_reason=finish))
    if usage := chunk.get("usage"):
        counts = Usage(
            prompt_tokens=usage.get("prompt_tokens") or 0,
            completion_tokens=usage.get("completion_tokens") or 0,
        )
        found.append(Piece(usage=counts))
    return found


KEEP_ALIVE = httpx.Limits(max_connections=100, max_keepalive_connections=100)


class ModelClient:
    """One keep-alive HTTP client per inference server, shared by every call to it."""

    def __init__(self, server: InferenceServer) -> None:
        self.server = server
        self._http = httpx.AsyncClient(
            base_url=server.url.rstrip("/"),
            headers={"Authorization": f"Bearer {server.token}"},
            timeout=server.timeout,
            # One retry covers a connection the server dropped; more would only delay
            # the error the client is waiting for. Every open connection is kept alive:
            # with httpx's default of 20, an expert answering 32 tasks at once closed
            # and reopened a dozen connections per round (~5 % of its CPU).
            transport=httpx.AsyncHTTPTransport(retries=1, limits=KEEP_ALIVE),
        )

    async def stream(
        self, model: str, prompt: Prompt, options: GenerationOptions
    ) -> AsyncIterator[Piece]:
        """The call's pieces in order. Raises ModelCallError (refused, malformed, broken
        or cut-off stream) or httpx.HTTPError (unreachable, timed out).

        Leading whitespace is held back and joined to the first visible text: a caller
        that has passed nothing on yet can still treat an all-whitespace answer as
        empty and ask another model instead."""
        body = chat_body(model, prompt, options)
        held, seen_text, finished = "", False, False
        async with aconnect_sse(self._http, "POST", "/chat/completions", json=body) as source:
            response = source.response
            if response.status_code >= 400:
                detail = (await response.aread()).decode(errors="replace")[:500]
                raise ModelCallError(f"HTTP {response.status_code}: {detail}")
            try:
                async for event in source.aiter_sse():
                    if event.data == "[DONE]":
                        break
                    for piece in _pieces(json.loads(event.data)):
                        finished = finished or piece.finish_reason is not None
                        if piece.text and not seen_text:
                            held += piece.text
                            seen_text = bool(held.strip())
                            piece = replace(piece, text=held if seen_text else "")
                        if piece.text or piece.finish_reason or piece.usage:
                            yield piece
            except (SSEError, ValueError) as exc:
                raise ModelCallError(f"unreadable stream: {exc}") from exc
        if not finished:
            # A whole answer ends with a finish_reason. Without one the server cut the
            # stream: it closed the connection early, or sent [DONE] after aborting the
            # generation (llama-cpp-python does so when another request interrupts it).
            raise ModelCallError("stream ended without a finish_reason: cut off by the server")

    async def aclose(self) -> None:
        await self._http.aclose()


def estimated_usage(prompt: Prompt, completion_chunks: int) -> Usage:
    """For servers that do not report usage in streams: one chunk is about one token,
    and English prompts run about four characters a token. Counted over the prompt the
    model was sent (system prompt and trimmed history included), not the client's."""
    prompt_chars = sum(len(message.get("content") or "") for message in prompt)
    return Usage(prompt_tokens=max(1, prompt_chars // 4), completion_tokens=completion_chunks)


def finish_reason(reported: str | None) -> FinishReason:
    return "length" if reported == "length" else "stop"

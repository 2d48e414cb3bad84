"""Streamed chat completions from an OpenAI-compatible server (vLLM, Ollama, llama.cpp,
LiteLLM), over aiohttp, reading the event stream's `data:` lines directly.

Why not the openai SDK on this path: for every request it walks the parameters through
its TypedDict transform, and for every token it builds a ChatCompletionChunk model; in
`make bench --profile` that was about 60 % of an expert's CPU and ~1 ms of its time to
first token. Why aiohttp, not httpx (which the rest of the project uses): against the
same scripted server, in one process, httpx with httpx-sse took 1.9-2.2 ms from the
call to the first chunk, aiohttp 0.8 ms, and that time sits in every answer's time to
first token. The wire format (a JSON body; SSE `data:` events of JSON chunks; `[DONE]`)
is small and stable. The official openai client is what the tests use against the
gateway, as a user would."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

import aiohttp
from aiohttp.http_exceptions import HttpProcessingError

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


MAX_CONNECTIONS: Final = 100
"""Open connections per server, all kept alive: a worker answers up to its concurrency
(32) at once, and reopening connections past a smaller pool cost ~5 % of its CPU."""
MAX_LINE_BYTES: Final = 1 << 20


async def _sse_data(lines: aiohttp.StreamReader) -> AsyncIterator[str]:
    """The `data` of each server-sent event: its `data:` lines joined, dispatched at the
    blank line that ends it (comments and other fields are skipped, as the SSE format
    says)."""
    data: list[str] = []
    async for raw in lines:
        line = raw.decode(errors="replace").rstrip("\r\n")
        if not line:
            if data:
                yield "\n".join(data)
                data = []
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    if data:  # a last event without its blank line
        yield "\n".join(data)


class ModelClient:
    """One keep-alive HTTP session per inference server, shared by every call to it."""

    def __init__(self, server: InferenceServer) -> None:
        self.server = server
        self._url = f"{server.url.rstrip('/')}/chat/completions"
        self._session: aiohttp.ClientSession | None = None  # made in the event loop

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                headers={"Authorization": f"Bearer {self.server.token}"},
                # The server's timeout bounds connecting and each wait for more of the
                # stream, not the whole answer (a long answer streams for minutes).
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=self.server.timeout, sock_read=self.server.timeout
                ),
                connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS),
                read_bufsize=MAX_LINE_BYTES,
            )
        return self._session

    async def _post(self, body: dict[str, Any]) -> aiohttp.ClientResponse:
        try:
            return await self._client().post(self._url, json=body)
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
            # Once more: a kept-alive connection the server had just closed, or a server
            # restarting. More tries would only delay the error the client waits for.
            return await self._client().post(self._url, json=body)

    async def stream(
        self, model: str, prompt: Prompt, options: GenerationOptions
    ) -> AsyncIterator[Piece]:
        """The call's pieces in order. Raises ModelCallError: refused, unreachable, timed
        out, malformed, broken or cut-off stream.

        Leading whitespace is held back and joined to the first visible text: a caller
        that has passed nothing on yet can still treat an all-whitespace answer as
        empty and ask another model instead."""
        body = chat_body(model, prompt, options)
        held, seen_text, finished = "", False, False
        try:
            async with await self._post(body) as response:
                if response.status >= 400:
                    detail = (await response.read()).decode(errors="replace")[:500]
                    raise ModelCallError(f"HTTP {response.status}: {detail}")
                if response.content_type != "text/event-stream":
                    raise ModelCallError(
                        f"unreadable stream: {response.content_type!r}, not text/event-stream"
                    )
                async for data in _sse_data(response.content):
                    if data == "[DONE]":
                        break
                    for piece in _pieces(_chunk(data)):
                        finished = finished or piece.finish_reason is not None
                        if piece.text and not seen_text:
                            held += piece.text
                            seen_text = bool(held.strip())
                            piece = replace(piece, text=held if seen_text else "")
                        if piece.text or piece.finish_reason or piece.usage:
                            yield piece
        except (aiohttp.ClientError, TimeoutError) as exc:
            reason = str(exc) or "no answer in time"
            message = f"unreachable or broken off ({type(exc).__name__}: {reason})"
            raise ModelCallError(message) from exc
        except HttpProcessingError as exc:  # a line longer than MAX_LINE_BYTES
            raise ModelCallError(f"unreadable stream: {exc}") from exc
        if not finished:
            # A whole answer ends with a finish_reason. Without one the server cut the
            # stream: it closed the connection early, or sent [DONE] after aborting the
            # generation (llama-cpp-python does so when another request interrupts it).
            raise ModelCallError("stream ended without a finish_reason: cut off by the server")

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


def _chunk(data: str) -> dict[str, Any]:
    try:
        chunk = json.loads(data)
    except ValueError as exc:
        raise ModelCallError(f"unreadable stream: {exc}") from exc
    if not isinstance(chunk, dict):
        raise ModelCallError(f"unreadable stream: a chunk that is not an object: {data[:80]!r}")
    return chunk


def estimated_usage(prompt: Prompt, completion_chunks: int) -> Usage:
    """For servers that do not report usage in streams: one chunk is about one token,
    and English prompts run about four characters a token. Counted over the prompt the
    model was sent (system prompt and trimmed history included), not the client's."""
    prompt_chars = sum(len(message.get("content") or "") for message in prompt)
    return Usage(prompt_tokens=max(1, prompt_chars // 4), completion_tokens=completion_chunks)


def finish_reason(reported: str | None) -> FinishReason:
    return "length" if reported == "length" else "stop"

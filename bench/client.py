"""One chat completion over HTTP, timed the way a client experiences it: time to the
first content token, time to `[DONE]`, and each token's relay delay (receipt time minus
the emission time the scripted model stamped into it)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import httpx

from bench.stamps import read_stamps

TIMEOUT = httpx.Timeout(60.0, connect=10.0)


@dataclass(frozen=True)
class Endpoint:
    """An OpenAI-compatible base URL (ending in /v1) and the model id to ask it for."""

    name: str
    base_url: str
    model: str


@dataclass
class Timing:
    ok: bool = False
    error: str | None = None
    ttft_s: float | None = None
    total_s: float = 0.0
    relay_s: list[float] = field(default_factory=list)
    max_tokens_per_event: int = 0
    content: str = ""
    request_id: str | None = None
    """From the gateway's X-Request-Id header, to find the request's events."""
    sent_wall: float = 0.0
    first_token_wall: float | None = None
    first_stamp: float | None = None


def new_client(connections: int = 64) -> httpx.AsyncClient:
    """Keep-alive pool wide enough for the highest concurrency level."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(timeout=TIMEOUT, limits=limits)


def _content(payload: str) -> str:
    """The content delta of one SSE data payload; an error event raises."""
    event = json.loads(payload)
    if "error" in event:
        raise RuntimeError(f"error event: {event['error'].get('message', event['error'])}")
    choices = event.get("choices")
    if not choices:  # the usage chunk
        return ""
    delta = choices[0].get("delta") or {}
    return str(delta.get("content") or "")


async def timed_chat(
    client: httpx.AsyncClient, endpoint: Endpoint, question: str, max_tokens: int | None = None
) -> Timing:
    """Send one streamed request and time it; failures are returned, not raised, so a
    load run counts them."""
    timing = Timing()
    body: dict[str, object] = {
        "model": endpoint.model,
        "stream": True,
        "messages": [{"role": "user", "content": question}],
    }
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    timing.sent_wall, started = time.time(), time.perf_counter()
    parts: list[str] = []
    try:
        async with client.stream(
            "POST", f"{endpoint.base_url}/chat/completions", json=body
        ) as response:
            if response.status_code != 200:
                text = (await response.aread()).decode(errors="replace")
                raise RuntimeError(f"HTTP {response.status_code}: {text[:200]}")
            timing.request_id = response.headers.get("x-request-id")
            async for line in response.aiter_lines():
                received_wall, received = time.time(), time.perf_counter()
                if not line.startswith("data: "):
                    continue
                payload = line.removeprefix("data: ")
                if payload == "[DONE]":
                    timing.ok = True
                    break
                content = _content(payload)
                if not content:
                    continue
                stamps = read_stamps(content)
                if timing.ttft_s is None:
                    timing.ttft_s = received - started
                    timing.first_token_wall = received_wall
                    timing.first_stamp = stamps[0] if stamps else None
                timing.relay_s.extend(received_wall - emitted for emitted in stamps)
                timing.max_tokens_per_event = max(timing.max_tokens_per_event, len(stamps))
                parts.append(content)
        if not timing.ok:
            raise RuntimeError("stream ended without [DONE]")
    except (httpx.HTTPError, RuntimeError, ValueError) as exc:
        timing.ok = False
        timing.error = f"{type(exc).__name__}: {exc}"[:300]
    timing.total_s = time.perf_counter() - started
    timing.content = "".join(parts)
    return timing

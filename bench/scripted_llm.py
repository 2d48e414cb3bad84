"""A scripted OpenAI-compatible model server: it stands in for vLLM at the HTTP
boundary. It streams configured tokens with configured delays and records each call.

Known model time is what makes the benchmark honest, so the same server serves the unit
and integration tests (in-process, `create_scripted_app`) and the benchmark (its own
process, `python -m bench.scripted_llm`, scripted over its control endpoint)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic_core import to_json

from bench.stamps import stamp

# Fields a request may override with `SCRIPT{...}` in its last message: timings, and how
# the stream ends (`{"tokens": []}` is an empty answer).
OVERRIDABLE = frozenset(
    {
        "tokens",
        "first_token_delay_s",
        "token_gap_s",
        "stamp_tokens",
        "cut_after_tokens",
        "cut_sends_done",
    }
)
_OVERRIDE = re.compile(r"SCRIPT(\{.*?\})")


@dataclass
class Script:
    tokens: list[str] = field(default_factory=lambda: ["Hello", " from", " the", " model", "."])
    first_token_delay_s: float = 0.0
    token_gap_s: float = 0.0
    fail_status: int | None = None
    hang: bool = False
    report_usage: bool = True
    prompt_tokens: int = 7
    stamp_tokens: bool = False
    """Append each token's emission time (`bench.stamps`) for relay-delay measurement."""
    fail_after_tokens: int | None = None
    """Break off a stream with an error event after this many tokens (a model server
    failing mid-answer)."""
    cut_after_tokens: int | None = None
    """End a stream after this many tokens with no finish_reason (a server cutting the
    answer short): the connection closes without `[DONE]` ..."""
    cut_sends_done: bool = False
    """... or, with this, `[DONE]` follows at once, as llama-cpp-python's server does when
    another request interrupts the generation."""


@dataclass
class ScriptedModel:
    script: Script = field(default_factory=Script)
    calls: list[dict[str, Any]] = field(default_factory=list)
    record_calls: bool = True
    """Off in long benchmark runs: only `call_count` grows then."""
    prompt_overrides: bool = False
    """Let a request carry its own timings (`SCRIPT{...}` in its last message), so one
    plan's parallel tasks can take known, different model times. The last SCRIPT in the
    message wins: a judge's prompt quotes its sources first and its own question last."""
    call_count: int = 0
    calls_by_model: Counter[str] = field(default_factory=Counter)
    """Calls per model id: which roles (planner, expert, judge) a request reached."""
    model_scripts: dict[str, Script] = field(default_factory=dict)
    """A script per model id, instead of `script`, for the calls that name that model."""
    system_scripts: list[tuple[str, Script]] = field(default_factory=list)
    """(phrase, script): a call whose system message contains the phrase gets the script
    (the first match wins; before `model_scripts`), e.g. one judge model's thinking,
    synthesis and critic calls."""
    spans: list[tuple[str, float, float]] = field(default_factory=list)
    """(model, started, ended) of each finished call, monotonic seconds: which models
    were asked, and whether their calls overlapped."""

    def reset(self, script: Script | None = None, **model_scripts: Script) -> None:
        self.script = script or Script()
        self.model_scripts = dict(model_scripts)
        self.system_scripts = []
        self.calls.clear()
        self.spans.clear()
        self.call_count = 0
        self.calls_by_model.clear()

    def script_for(self, body: dict[str, Any]) -> Script:
        messages = body.get("messages") or [{}]
        system = next((m.get("content") or "" for m in messages if m.get("role") == "system"), "")
        by_system = [script for phrase, script in self.system_scripts if phrase in system]
        base = by_system[0] if by_system else self.model_scripts.get(body.get("model", ""))
        base = base or self.script
        content = messages[-1].get("content")
        found = _OVERRIDE.findall(content) if self.prompt_overrides and content else []
        if not found:
            return base
        fields = {k: v for k, v in json.loads(found[-1]).items() if k in OVERRIDABLE}
        return dataclasses.replace(base, **fields)

    def models_called(self) -> list[str]:
        return [call.get("model", "") for call in self.calls]


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> bytes:
    body = {
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + to_json(body) + b"\n\n"


def _usage(script: Script) -> dict[str, int]:
    return {
        "prompt_tokens": script.prompt_tokens,
        "completion_tokens": len(script.tokens),
        "total_tokens": script.prompt_tokens + len(script.tokens),
    }


async def _stream(script: Script, model: str, usage: bool) -> AsyncIterator[bytes]:
    await asyncio.sleep(script.first_token_delay_s)
    yield _chunk(model, {"role": "assistant", "content": ""})
    for index, token in enumerate(script.tokens):
        if index == script.cut_after_tokens:
            break
        if index == script.fail_after_tokens:
            error = {"message": "scripted failure mid-stream", "type": "server_error"}
            yield b"data: " + to_json({"error": error}) + b"\n\n"
            return
        if index:
            await asyncio.sleep(script.token_gap_s)
        yield _chunk(model, {"content": stamp(token) if script.stamp_tokens else token})
    if script.cut_after_tokens is not None:
        if script.cut_sends_done:
            yield b"data: [DONE]\n\n"
        return
    yield _chunk(model, {}, "stop")
    if usage and script.report_usage:
        body = {
            "id": "chatcmpl-scripted",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "choices": [],
            "usage": _usage(script),
        }
        yield b"data: " + to_json(body) + b"\n\n"
    yield b"data: [DONE]\n\n"


def _completion(script: Script, name: str) -> dict[str, Any]:
    text = "".join(stamp(t) if script.stamp_tokens else t for t in script.tokens)
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": name,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": _usage(script),
    }


async def _timed(
    stream: AsyncIterator[bytes], model: ScriptedModel, name: str, started: float
) -> AsyncIterator[bytes]:
    async for data in stream:
        yield data
    model.spans.append((name, started, time.monotonic()))


def create_scripted_app(model: ScriptedModel, control: bool = False) -> FastAPI:
    """The model server; with `control`, `PUT /_scripted/script` replaces the script
    (body: Script fields, and optionally `models`: model id -> Script fields) and
    `GET /_scripted/calls` counts calls, in all and by model, for a separate process."""
    app = FastAPI()

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": "scripted", "object": "model"}]}

    @app.post("/v1/chat/completions", response_model=None)
    async def chat(request: Request) -> Response:
        body = await request.json()
        model.call_count += 1
        model.calls_by_model[str(body.get("model", ""))] += 1
        if model.record_calls:
            model.calls.append(body)
        script = model.script_for(body)
        if script.hang:
            await asyncio.sleep(3600)
        if script.fail_status is not None:
            error = {"error": {"message": "scripted failure", "type": "server_error"}}
            return JSONResponse(error, status_code=script.fail_status)
        name = body.get("model", "scripted")
        started = time.monotonic()
        if body.get("stream"):
            usage = bool((body.get("stream_options") or {}).get("include_usage"))
            stream = _timed(_stream(script, name, usage), model, name, started)
            return StreamingResponse(stream, media_type="text/event-stream")
        await asyncio.sleep(script.first_token_delay_s)
        model.spans.append((name, started, time.monotonic()))
        return JSONResponse(_completion(script, name))

    if control:

        @app.put("/_scripted/script")
        async def set_script(request: Request) -> dict[str, Any]:
            body = await request.json()
            models = {name: Script(**fields) for name, fields in body.pop("models", {}).items()}
            model.reset(Script(**body), **models)
            return dataclasses.asdict(model.script)

        @app.get("/_scripted/calls")
        async def calls() -> dict[str, Any]:
            return {"count": model.call_count, "by_model": dict(model.calls_by_model)}

    return app

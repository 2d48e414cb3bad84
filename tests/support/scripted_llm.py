"""A scripted OpenAI-compatible model server: it stands in for vLLM at the HTTP
boundary. It streams configured tokens with configured delays and records each call."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic_core import to_json


@dataclass
class Script:
    tokens: list[str] = field(default_factory=lambda: ["Hello", " from", " the", " model", "."])
    first_token_delay_s: float = 0.0
    token_gap_s: float = 0.0
    fail_status: int | None = None
    hang: bool = False
    report_usage: bool = True
    prompt_tokens: int = 7


@dataclass
class ScriptedModel:
    script: Script = field(default_factory=Script)
    calls: list[dict[str, Any]] = field(default_factory=list)

    def reset(self, script: Script | None = None) -> None:
        self.script = script or Script()
        self.calls.clear()


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> bytes:
    body = {
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + to_json(body) + b"\n\n"


async def _stream(script: Script, model: str, usage: bool) -> AsyncIterator[bytes]:
    await asyncio.sleep(script.first_token_delay_s)
    yield _chunk(model, {"role": "assistant", "content": ""})
    for index, token in enumerate(script.tokens):
        if index:
            await asyncio.sleep(script.token_gap_s)
        yield _chunk(model, {"content": token})
    yield _chunk(model, {}, "stop")
    if usage and script.report_usage:
        counts = {
            "prompt_tokens": script.prompt_tokens,
            "completion_tokens": len(script.tokens),
            "total_tokens": script.prompt_tokens + len(script.tokens),
        }
        body = {
            "id": "chatcmpl-scripted",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "choices": [],
            "usage": counts,
        }
        yield b"data: " + to_json(body) + b"\n\n"
    yield b"data: [DONE]\n\n"


def create_scripted_app(model: ScriptedModel) -> FastAPI:
    app = FastAPI()

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": "scripted", "object": "model"}]}

    @app.post("/v1/chat/completions", response_model=None)
    async def chat(request: Request) -> Response:
        body = await request.json()
        model.calls.append(body)
        script = model.script
        if script.hang:
            await asyncio.sleep(3600)
        if script.fail_status is not None:
            error = {"error": {"message": "scripted failure", "type": "server_error"}}
            return JSONResponse(error, status_code=script.fail_status)
        name = body.get("model", "scripted")
        if body.get("stream"):
            usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return StreamingResponse(_stream(script, name, usage), media_type="text/event-stream")
        await asyncio.sleep(script.first_token_delay_s)
        text = "".join(script.tokens)
        return JSONResponse(
            {
                "id": "chatcmpl-scripted",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": name,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": script.prompt_tokens,
                    "completion_tokens": len(script.tokens),
                    "total_tokens": script.prompt_tokens + len(script.tokens),
                },
            }
        )

    return app

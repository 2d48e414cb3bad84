"""REST interface: GET /health, GET /tools (what the planner reads at run time: each
tool's `parameters` and `output_schema`, switched-off tools left out) and POST /invoke
(the typed result, its hash, the tool's version and the validated input). Errors use the
OpenAI error shape so every client of the stack parses one."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError

from contracts.http_errors import error_body
from services.tools.catalog import specs
from services.tools.registry import ToolError
from services.tools.runner import ToolRunner, render
from services.tools.settings import ToolsSettings

_STATUS = {"unknown_tool": 404, "tool_disabled": 403, "result_too_large": 422, "internal": 500}


class InvokeRequest(BaseModel):
    tool: str = Field(min_length=1, max_length=100)
    args: dict[str, Any] = Field(default_factory=dict)


def error_response(
    status: int, message: str, param: str | None = None, code: str | None = None
) -> JSONResponse:
    return JSONResponse(error_body(status, message, code, param), status_code=status)


class BodyTooLarge(Exception):
    pass


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it passes `limit` rather than after buffering it all."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def build_http_router(runner: ToolRunner, settings: ToolsSettings) -> APIRouter:
    router = APIRouter()

    @router.get("/health")
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "service": "tools",
            "worker_id": settings.worker_id,
            "kafka": settings.kafka_enabled,
            "research": settings.research_enabled,
        }

    @router.get("/tools")
    async def list_tools() -> dict[str, Any]:
        research: dict[str, Any] = {"available": settings.research_enabled}
        if not settings.research_enabled:
            research["reason"] = "SEARXNG_URL is not set"
        return {"tools": runner.switches.visible(specs()), "research": research}

    @router.post("/invoke", response_model=None)
    async def invoke(request: Request) -> JSONResponse | dict[str, Any]:
        try:
            call = InvokeRequest.model_validate(
                json.loads(await _read_body(request, settings.max_body_bytes))
            )
        except BodyTooLarge:
            limit = settings.max_body_bytes
            return error_response(413, f"request body exceeds {limit} bytes", None, "too_large")
        except (ValueError, RecursionError, ValidationError) as exc:
            param = None
            if isinstance(exc, ValidationError) and exc.errors()[0]["loc"]:
                param = str(exc.errors()[0]["loc"][0])
            message = "body must be JSON {'tool': name, 'args': {...}}"
            return error_response(400, message, param, "invalid_request")
        try:
            done = await runner.call(call.tool, call.args)
        except ToolError as exc:
            status = _STATUS.get(exc.code, 400)
            return error_response(status, exc.message, exc.argument, exc.code)
        # `result` is the same object as `structured_result`, kept for existing clients.
        text = render(call.tool, done.result)
        return {**done.envelope(), "result": done.result, "text": text}

    return router

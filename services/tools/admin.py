"""Operator routes: POST /admin/tools/{name} turns a tool off or on, on every instance
(through moe.tool_switches when Kafka is on; in this process only when it is off).
Guarded by TOOLS_ADMIN_KEY as a Bearer token; without a key the routes refuse everything."""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from pydantic import BaseModel, Field

from contracts.events import ToolSwitched
from contracts.http_errors import error_body
from contracts.topics import TOOL_SWITCHES
from contracts.wire import NotDelivered, publish_event
from services.tools.catalog import TOOLS
from services.tools.settings import ToolsSettings
from services.tools.switches import ToolSwitches


class SwitchRequest(BaseModel):
    enabled: bool = Field(description="false: switch the tool off; true: on again.")
    reason: str = Field(default="", max_length=500, description="Why, for the event trail.")


def _refusal(settings: ToolsSettings, authorization: str | None) -> JSONResponse | None:
    key = settings.admin_key.get_secret_value()
    if not key:
        message = "admin routes are off: TOOLS_ADMIN_KEY is not set"
        return JSONResponse(error_body(403, message, "admin_disabled", None), status_code=403)
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip(), key):
        message = "invalid or missing admin key"
        return JSONResponse(error_body(401, message, "invalid_api_key", None), status_code=401)
    return None


def build_admin_router(
    settings: ToolsSettings, switches: ToolSwitches, broker: KafkaBroker | None
) -> APIRouter:
    router = APIRouter(prefix="/admin")

    @router.post("/tools/{name}", response_model=None)
    async def switch_tool(
        name: str, body: SwitchRequest, authorization: str | None = Header(default=None)
    ) -> JSONResponse | dict[str, Any]:
        refused = _refusal(settings, authorization)
        if refused is not None:
            return refused
        if name not in TOOLS:
            message = f"no tool named {name!r}"
            return JSONResponse(error_body(404, message, "unknown_tool", "name"), status_code=404)
        event = ToolSwitched(request_id=name, tool=name, enabled=body.enabled, reason=body.reason)
        if broker is not None:
            try:
                await publish_event(broker, event, TOOL_SWITCHES)
            except NotDelivered as exc:
                # Not applied here either: a switch on one instance only would be a lie.
                message = f"the switch was not recorded: {exc}"
                return JSONResponse(error_body(503, message, "unavailable", None), 503)
        switches.apply(event)  # this instance at once; the others as the event arrives
        return {"tool": name, "enabled": body.enabled, "disabled": switches.disabled()}

    @router.get("/tools", response_model=None)
    async def switch_states(
        authorization: str | None = Header(default=None),
    ) -> JSONResponse | dict[str, Any]:
        refused = _refusal(settings, authorization)
        return refused or {"disabled": switches.disabled()}

    return router

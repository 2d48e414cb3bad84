"""An operator's tool switch reaches the planner's catalog when the planner reads it on
moe.tool_switches, not at its next 30 s refresh of GET /tools."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from faststream.kafka import TestKafkaBroker

from contracts.events import ToolSwitched
from contracts.topics import TOOL_SWITCHES
from contracts.wire import make_broker
from services.planner.app import create_app as create_planner
from services.planner.settings import PlannerSettings
from services.planner.tool_catalog import ToolCatalog
from tests.support.servers import serve


def tools_app(names: list[str]) -> FastAPI:
    """GET /tools of a tools instance that has not read any switch yet."""
    app = FastAPI()
    listed = [{"name": n, "description": n, "parameters": {"type": "object"}} for n in names]

    @app.get("/tools")
    async def tools() -> dict[str, Any]:
        return {"tools": listed}

    return app


def switch(tool: str, enabled: bool) -> dict[str, Any]:
    return ToolSwitched(request_id=tool, tool=tool, enabled=enabled).model_dump(mode="json")


async def test_a_switch_applies_to_the_planners_catalog_at_once() -> None:
    async with serve(tools_app(["calculate", "hash_text"])) as url, httpx.AsyncClient() as client:
        catalog = ToolCatalog(url)
        broker = make_broker("unused:9092", "planner")
        create_planner(PlannerSettings(cache_enabled=False), broker, catalog)
        await catalog.refresh(client)
        assert catalog.names() == ["calculate", "hash_text"]
        async with TestKafkaBroker(broker) as test_broker:
            await test_broker.publish(switch("hash_text", enabled=False), TOOL_SWITCHES)
            assert catalog.names() == ["calculate"]
            # A tools instance that has not read the switch still lists it: kept out.
            await catalog.refresh(client)
            assert catalog.get("hash_text") is None
            await test_broker.publish(switch("hash_text", enabled=True), TOOL_SWITCHES)
            await catalog.refresh(client)
            assert catalog.names() == ["calculate", "hash_text"]

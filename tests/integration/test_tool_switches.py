"""Tool switches across tools-service instances on the real broker: a tool switched off
through one instance's admin route vanishes from every instance's GET /tools (so from
the planner's catalog) and is refused with tool_disabled there; an instance started
afterwards starts with it off (moe.tool_switches is compacted and read from the
beginning); switched on, it is back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import httpx
import pytest

from contracts.events import new_id
from services.planner.tool_catalog import ToolCatalog
from services.tools.app import create_app
from services.tools.settings import ToolsSettings
from tests.support.servers import serve

pytestmark = pytest.mark.timeout(120)
KEY = "switch-test-key"
TOOL = "roman_numeral"  # no other integration test calls it


def _settings(kafka_url: str) -> ToolsSettings:
    return ToolsSettings(
        kafka_url=kafka_url,
        searxng_url="",
        pool_size=1,
        heartbeat_interval=5.0,
        worker_id=new_id("tools-switch-"),
        admin_key=KEY,
    )


async def _listed(url: str) -> set[str]:
    async with httpx.AsyncClient(base_url=url) as client:
        return {tool["name"] for tool in (await client.get("/tools")).json()["tools"]}


async def _until(url: str, present: bool) -> None:
    """Until the instance at `url` lists TOOL (or not): switches arrive asynchronously."""
    async with asyncio.timeout(30):
        while (TOOL in await _listed(url)) != present:  # noqa: ASYNC110 - polled over HTTP
            await asyncio.sleep(0.1)


async def _switch(url: str, enabled: bool) -> None:
    async with httpx.AsyncClient(base_url=url) as client:
        response = await client.post(
            f"/admin/tools/{TOOL}",
            json={"enabled": enabled, "reason": "integration test"},
            headers={"Authorization": f"Bearer {KEY}"},
        )
    assert response.status_code == 200


@pytest.fixture
async def two_instances(kafka_url: str) -> AsyncIterator[tuple[str, str]]:
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(serve(create_app(_settings(kafka_url))))
        second = await stack.enter_async_context(serve(create_app(_settings(kafka_url))))
        try:
            yield first, second
        finally:
            await _switch(first, enabled=True)  # the topic keeps the last switch for good


async def test_a_switch_holds_on_every_instance(
    kafka_url: str, two_instances: tuple[str, str]
) -> None:
    first, second = two_instances
    assert TOOL in await _listed(second)
    await _switch(first, enabled=False)
    assert TOOL not in await _listed(first)  # the instance that took the switch: at once
    await _until(second, present=False)
    async with httpx.AsyncClient(base_url=second) as client:
        refused = await client.post("/invoke", json={"tool": TOOL, "args": {"number": 4}})
        # The planner's catalog, at its next refresh from this instance, lacks it too.
        catalog = ToolCatalog(second)
        await catalog.refresh(client)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "tool_disabled")
    assert catalog.get(TOOL) is None and catalog.get("calculate") is not None

    async with serve(create_app(_settings(kafka_url))) as late:
        await _until(late, present=False)  # replayed from the compacted topic

    await _switch(second, enabled=True)
    await _until(first, present=True)
    async with httpx.AsyncClient(base_url=first) as client:
        answered = await client.post("/invoke", json={"tool": TOOL, "args": {"number": 4}})
    assert answered.json()["structured_result"] == {"number": 4, "numeral": "IV"}

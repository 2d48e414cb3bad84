"""Tool switches: the admin route (Bearer TOOLS_ADMIN_KEY) turns a tool off and on; an
off tool vanishes from GET /tools and MCP tools/list and a call gets tool_disabled; the
same state arrives over moe.tool_switches; TOOLS_DISABLED_TOOLS sets the starting state."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from faststream.kafka import TestKafkaBroker
from mcp import Client

from contracts.events import ToolSwitched
from contracts.topics import RESULTS, TOOL_SWITCHES, task_topic
from services.tools.app import create_app
from services.tools.handlers import build_broker
from services.tools.pool import WorkerPool
from services.tools.registry import ToolError
from services.tools.runner import ToolRunner
from services.tools.settings import ToolsSettings
from services.tools.switches import ToolSwitches
from tests.support.servers import serve
from tests.unit.tools.helpers import Inbox, assigned

pytestmark = pytest.mark.timeout(60)
KEY = "admin-test-key"
ADMIN = {"Authorization": f"Bearer {KEY}"}


def test_latest_switch_wins_over_the_setting() -> None:
    switches = ToolSwitches(disabled=["hash_text"])
    assert not switches.enabled("hash_text") and switches.enabled("calculate")
    switches.apply(ToolSwitched(request_id="hash_text", tool="hash_text", enabled=True))
    switches.apply(ToolSwitched(request_id="calculate", tool="calculate", enabled=False))
    assert switches.enabled("hash_text") and switches.disabled() == ["calculate"]
    with pytest.raises(ToolError) as info:
        switches.check("calculate")
    assert (info.value.code, info.value.argument) == ("tool_disabled", "tool")


def test_a_misspelt_tool_in_the_setting_fails_at_start() -> None:
    settings = ToolsSettings(kafka_enabled=False, searxng_url="", disabled_tools=["hash_txt"])
    with pytest.raises(ValueError, match="hash_txt"):
        create_app(settings)


@pytest.fixture(scope="module")
async def base_url() -> AsyncIterator[str]:
    settings = ToolsSettings(
        kafka_enabled=False,
        searxng_url="",
        pool_size=1,
        admin_key=KEY,
        disabled_tools=["roman_numeral"],
    )
    async with serve(create_app(settings)) as url:
        yield url


async def _names(client: httpx.AsyncClient) -> set[str]:
    return {tool["name"] for tool in (await client.get("/tools")).json()["tools"]}


async def test_admin_routes_need_the_key(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        missing = await client.post("/admin/tools/calculate", json={"enabled": False})
        wrong = await client.post(
            "/admin/tools/calculate",
            json={"enabled": False},
            headers={"Authorization": "Bearer nope"},
        )
        unknown = await client.post("/admin/tools/rm_rf", json={"enabled": False}, headers=ADMIN)
        names = await _names(client)
    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert wrong.json()["error"]["code"] == "invalid_api_key"
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "unknown_tool")
    assert "calculate" in names


async def test_a_tool_disabled_at_start_is_hidden_and_refused(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        assert "roman_numeral" not in await _names(client)
        refused = await client.post(
            "/invoke", json={"tool": "roman_numeral", "args": {"number": 4}}
        )
        state = await client.get("/admin/tools", headers=ADMIN)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "tool_disabled")
    assert state.json() == {"disabled": ["roman_numeral"]}


async def test_switching_off_and_on_at_run_time(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        off = await client.post(
            "/admin/tools/hash_text", json={"enabled": False, "reason": "audit"}, headers=ADMIN
        )
        assert off.status_code == 200 and "hash_text" in off.json()["disabled"]
        assert "hash_text" not in await _names(client)
        async with Client(f"{base_url}/mcp") as mcp:
            listed = {tool.name for tool in (await mcp.list_tools()).tools}
            called = await mcp.call_tool("hash_text", {"text": "x"})
        assert "hash_text" not in listed and "calculate" in listed
        assert called.is_error
        refused = await client.post("/invoke", json={"tool": "hash_text", "args": {"text": "x"}})
        assert refused.json()["error"]["code"] == "tool_disabled"
        on = await client.post("/admin/tools/hash_text", json={"enabled": True}, headers=ADMIN)
        assert on.status_code == 200
        assert "hash_text" in await _names(client)
        again = await client.post("/invoke", json={"tool": "hash_text", "args": {"text": "x"}})
    assert again.status_code == 200


async def test_admin_routes_are_off_without_a_key() -> None:
    settings = ToolsSettings(kafka_enabled=False, searxng_url="", pool_size=1)
    async with serve(create_app(settings)) as url, httpx.AsyncClient(base_url=url) as client:
        response = await client.post(
            "/admin/tools/calculate", json={"enabled": False}, headers=ADMIN
        )
    assert (response.status_code, response.json()["error"]["code"]) == (403, "admin_disabled")


async def test_switch_events_reach_the_kafka_worker(
    pool: WorkerPool, settings: ToolsSettings
) -> None:
    runner = ToolRunner(pool, 5.0, ToolSwitches())
    broker = build_broker(settings, runner, None)
    inbox = Inbox(broker, [RESULTS])
    async with TestKafkaBroker(broker) as test_broker:
        switch = ToolSwitched(request_id="calculate", tool="calculate", enabled=False)
        await test_broker.publish(switch.model_dump(mode="json"), TOOL_SWITCHES, key=b"calculate")
        # The in-memory broker runs the handler inside publish.
        assert not runner.switches.enabled("calculate")
        task = assigned("calculate", {"expression": "1+1"})
        await test_broker.publish(task.model_dump(mode="json"), task_topic("tool"), key=b"req-1")
        result = await inbox.first(RESULTS)
    assert result.output == "" and "switched off" in (result.error or "")


async def test_a_worded_math_task_respects_the_math_tool_switch(pool: WorkerPool) -> None:
    runner = ToolRunner(pool, 5.0, ToolSwitches(disabled=["symbolic_math"]))
    event = assigned(None, None, category="math", task="Differentiate x^2")
    result = await runner.run_task(event, "tools-test")
    assert result.output == "" and "switched off" in (result.error or "")

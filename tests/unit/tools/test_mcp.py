"""MCP over Streamable HTTP: the official SDK's client lists and calls the tools on a real
uvicorn server listening on a free loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator

import mcp_types as types
import pytest
from mcp import Client

from services.tools.app import create_app
from services.tools.catalog import TOOLS
from services.tools.settings import ToolsSettings
from tests.support.servers import serve

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
async def mcp_url() -> AsyncIterator[str]:
    settings = ToolsSettings(kafka_enabled=False, searxng_url="", pool_size=1)
    async with serve(create_app(settings)) as url:
        yield f"{url}/mcp"


async def test_lists_every_tool_with_its_schema(mcp_url: str) -> None:
    async with Client(mcp_url) as client:
        listed = await client.list_tools()
    by_name = {tool.name: tool for tool in listed.tools}
    assert set(by_name) == set(TOOLS)
    assert by_name["subnet_calc"].input_schema["required"] == ["cidr"]
    assert by_name["subnet_calc"].description


async def test_calls_a_tool(mcp_url: str) -> None:
    async with Client(mcp_url) as client:
        result = await client.call_tool("subnet_calc", {"cidr": "10.0.0.0/31"})
    assert not result.is_error
    assert result.structured_content is not None
    assert result.structured_content["usable_hosts"] == 2
    text = result.content[0]
    assert isinstance(text, types.TextContent) and "usable_hosts: 2" in text.text


async def test_tool_errors_are_results_not_protocol_failures(mcp_url: str) -> None:
    async with Client(mcp_url) as client:
        result = await client.call_tool("roman_numeral", {"number": 4000})
    assert result.is_error
    text = result.content[0]
    assert isinstance(text, types.TextContent) and text.text.startswith("number:")

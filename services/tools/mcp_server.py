"""The same tools over MCP Streamable HTTP, with the official SDK's low-level server: the
argument and result models' JSON schemas are published as they are (inputSchema,
outputSchema), calls go through the same runner (switches, validation, worker pool, time
limits) as REST and Kafka, and a result carries its version, input and hash in `_meta`."""

from __future__ import annotations

from typing import Any

import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings

from services.tools.catalog import spec_of, specs
from services.tools.registry import ToolError
from services.tools.runner import ToolRunner, render

LOOPBACK = ("127.0.0.1", "localhost", "::1")
INSTRUCTIONS = (
    "Deterministic precision tools: prefer them to estimating any calculation, date, time "
    "zone, money amount, probability, unit conversion, hash, encoding, pattern match, "
    "statistic, document validation or subnet. Quote their values unchanged."
)


def _input_schema(name: str) -> dict[str, Any] | None:
    spec = spec_of(name)
    return spec["parameters"] if spec else None


def build_mcp_server(runner: ToolRunner) -> Server[Any]:
    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        tools = [
            types.Tool(
                name=spec["name"],
                description=spec["description"],
                input_schema=spec["parameters"],
                output_schema=spec["output_schema"],
            )
            for spec in runner.switches.visible(specs())
        ]
        return types.ListToolsResult(tools=tools)

    async def call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        try:
            done = await runner.call(params.name, params.arguments)
        except ToolError as exc:
            text = types.TextContent(type="text", text=str(exc))
            return types.CallToolResult(content=[text], is_error=True)
        text = types.TextContent(type="text", text=render(params.name, done.result))
        meta = {"version": done.version, "input": done.input, "result_hash": done.result_hash}
        return types.CallToolResult(content=[text], structured_content=done.result, meta=meta)

    return Server(
        "moe-tools",
        version="1.0",
        instructions=INSTRUCTIONS,
        get_tool_input_schema=_input_schema,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


def build_session_manager(server: Server[Any], host: str) -> StreamableHTTPSessionManager:
    """Stateless JSON mode: any replica behind a load balancer can answer any request."""
    security = None
    if host in LOOPBACK:
        # Bound to loopback: refuse foreign Host/Origin headers (DNS rebinding protection).
        security = TransportSecuritySettings(
            allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
            allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
        )
    return StreamableHTTPSessionManager(
        app=server, stateless=True, json_response=True, security_settings=security
    )

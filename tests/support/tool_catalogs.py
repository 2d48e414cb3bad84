"""Waiting until the planners under test have learned the tools service's catalog."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import httpx

from services.planner.tool_catalog import ToolCatalog


async def wait_for_tools(
    catalogs: Sequence[ToolCatalog], tools_url: str, limit_s: float = 60
) -> None:
    """Until every catalog lists tools (each planner refreshes its own in the background,
    every 2 s while empty). On a timeout, the error says what each catalog's last refresh
    met and what GET /tools answers now, so a failure can be told apart from a slow start."""
    try:
        async with asyncio.timeout(limit_s):
            while not all(c.names() for c in catalogs):  # noqa: ASYNC110 - planners poll
                await asyncio.sleep(0.1)
    except TimeoutError:
        async with httpx.AsyncClient(timeout=5) as client:
            try:
                response = await client.get(f"{tools_url}/tools")
                now = f"{response.status_code} {response.text[:300]}"
            except httpx.HTTPError as exc:
                now = f"{type(exc).__name__}: {exc}"
        errors = [c.last_error for c in catalogs]
        raise AssertionError(
            f"no tool catalog after {limit_s} s; last refresh errors {errors}; GET /tools: {now}"
        ) from None

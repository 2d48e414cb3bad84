"""The planner's tool catalog keeps refreshing from GET /tools whatever one refresh meets."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from services.planner.tool_catalog import ToolCatalog
from tests.support.servers import serve
from tests.unit.planner.test_tool_switches import tools_app


async def test_a_refresh_that_raises_does_not_end_the_refreshing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with serve(tools_app(["calculate"])) as url:
        catalog = ToolCatalog(url)
        real_refresh = catalog.refresh
        calls = 0

        async def first_call_raises(client: httpx.AsyncClient) -> None:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise RuntimeError("something no one expected")
            await real_refresh(client)

        monkeypatch.setattr(catalog, "refresh", first_call_raises)
        await catalog.start()
        try:
            async with asyncio.timeout(10):  # the next try comes 2 s later
                while not catalog.names():  # noqa: ASYNC110 - refreshed by its own task
                    await asyncio.sleep(0.05)
        finally:
            await catalog.stop()
    assert catalog.names() == ["calculate"]
    assert calls == 2
    assert catalog.last_error is None


async def test_the_last_refresh_error_is_kept_until_one_succeeds() -> None:
    starting = FastAPI()
    answers = iter([503, 200])

    @starting.get("/tools")
    async def tools() -> JSONResponse:
        listed = [{"name": "calculate", "description": "", "parameters": {"type": "object"}}]
        return JSONResponse({"tools": listed}, status_code=next(answers))

    async with serve(starting) as url, httpx.AsyncClient() as client:
        catalog = ToolCatalog(url)
        await catalog.refresh(client)
        assert catalog.last_error is not None
        assert catalog.last_error.startswith("HTTPStatusError: Server error '503")
        assert catalog.names() == []
        await catalog.refresh(client)
    assert catalog.last_error is None
    assert catalog.names() == ["calculate"]

"""One process, three interfaces: uvicorn serves the FastAPI app (REST and MCP at /mcp),
and the app's lifespan starts and stops the worker pool, the research client, the Kafka
broker and the heartbeat, in that order and in reverse on shutdown."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog
from fastapi import FastAPI
from faststream.kafka import KafkaBroker
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from starlette.routing import Route

from contracts.lifecycle import bounded, freeze_startup_heap
from services.tools.admin import build_admin_router
from services.tools.catalog import TOOLS
from services.tools.handlers import build_broker
from services.tools.heartbeat import heartbeat_loop
from services.tools.http_api import build_http_router
from services.tools.mcp_server import build_mcp_server, build_session_manager
from services.tools.pool import WorkerPool
from services.tools.research import Research
from services.tools.runner import ToolRunner
from services.tools.settings import ToolsSettings
from services.tools.switches import ToolSwitches

log = structlog.get_logger()


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _start_kafka(
    stack: contextlib.AsyncExitStack, broker: KafkaBroker, settings: ToolsSettings
) -> asyncio.Task[None]:
    await broker.start()
    # Bounded: a producer stopping while the broker is unreachable would wait out its
    # request timeout trying to flush.
    stack.push_async_callback(bounded, broker.stop, "tools broker stop")
    beat = asyncio.create_task(heartbeat_loop(broker, settings), name="tools-heartbeat")
    stack.push_async_callback(_cancel, beat)
    return beat


def create_app(settings: ToolsSettings | None = None) -> FastAPI:
    settings = settings or ToolsSettings()
    pool = WorkerPool(settings.pool_size, settings.worker_memory_mb)
    switches = ToolSwitches(settings.disabled_tools, known=TOOLS)
    runner = ToolRunner(pool, settings.tool_timeout, switches)
    research = Research(settings) if settings.research_enabled else None
    broker = build_broker(settings, runner, research) if settings.kafka_enabled else None
    sessions = build_session_manager(build_mcp_server(runner), settings.host)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(pool.close)
            await pool.start()
            await stack.enter_async_context(sessions.run())
            if research is not None:
                await stack.enter_async_context(research)
            if broker is not None:
                # The task is kept on app.state: a heartbeat nobody references can be
                # garbage-collected mid-flight.
                app.state.heartbeat = await _start_kafka(stack, broker, settings)
            freeze_startup_heap()
            log.info(
                "tools_started",
                worker_id=settings.worker_id,
                kafka=broker is not None,
                research=research is not None,
            )
            yield

    app = FastAPI(title="moe tools", version="1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.runner = runner
    app.state.broker = broker
    app.include_router(build_http_router(runner, settings))
    app.include_router(build_admin_router(settings, runner.switches, broker))
    app.router.routes.append(Route("/mcp", endpoint=StreamableHTTPASGIApp(sessions)))
    return app

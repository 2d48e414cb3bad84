"""Heartbeats on moe.registry, and the whole app wired together (HTTP, MCP, Kafka and the
heartbeat in one lifespan) on the in-memory broker."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import pytest
from faststream.kafka import TestKafkaBroker

from contracts.events import WorkerHeartbeat
from contracts.topics import REGISTRY, RESULTS, task_topic
from services.tools.app import create_app
from services.tools.catalog import TOOLS
from services.tools.heartbeat import heartbeat, heartbeat_loop
from services.tools.settings import ToolsSettings
from tests.support.servers import serve
from tests.unit.tools.helpers import Inbox, assigned

pytestmark = pytest.mark.timeout(60)


def test_heartbeat_announces_tools_and_research_state(settings: ToolsSettings) -> None:
    beat = heartbeat(settings)
    assert (beat.request_id, beat.worker_id, beat.service) == (
        settings.worker_id,
        settings.worker_id,
        "tools",
    )
    assert beat.capabilities == [*TOOLS, "math"]
    assert beat.topics == [task_topic("tool")]
    on = heartbeat(settings.model_copy(update={"searxng_url": "http://searx:8080"}))
    assert on.capabilities[-1] == "research"
    assert on.topics == [task_topic("tool"), task_topic("research")]


async def test_loop_beats_until_cancelled(settings: ToolsSettings) -> None:
    app = create_app(settings)
    broker = app.state.broker
    inbox = Inbox(broker, [REGISTRY])
    async with TestKafkaBroker(broker):
        beating = asyncio.create_task(heartbeat_loop(broker, settings))
        await inbox.wait_for(REGISTRY, 3)
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beating
    assert all(isinstance(beat, WorkerHeartbeat) for beat in inbox.events[REGISTRY])
    assert set(inbox.keys[REGISTRY]) == {settings.worker_id.encode()}


async def test_one_process_serves_kafka_http_and_heartbeats() -> None:
    settings = ToolsSettings(
        kafka_url="127.0.0.1:1",
        searxng_url="http://127.0.0.1:9",
        pool_size=1,
        heartbeat_interval=0.05,
    )
    app = create_app(settings)
    inbox = Inbox(app.state.broker, [REGISTRY, RESULTS])
    async with TestKafkaBroker(app.state.broker) as broker, serve(app) as url:
        async with httpx.AsyncClient(base_url=url) as http:
            listing = (await http.get("/tools")).json()
        await broker.publish(
            assigned("gcd_lcm", {"numbers": [21, 6]}).model_dump(mode="json"), task_topic("tool")
        )
        result = await inbox.first(RESULTS)
        beat = await inbox.first(REGISTRY)
        assert not app.state.heartbeat.done()
    assert listing["research"] == {"available": True}
    assert "gcd: 3" in result.output and "lcm: 42" in result.output
    assert "research" in beat.capabilities
    assert app.state.heartbeat.done()  # stopped with the app, not left running

"""The tools service on the real broker: started as it runs in the stack (uvicorn, lifespan,
Kafka consumer, heartbeat), it answers a TaskAssigned on moe.tasks.tool with the exact value
on moe.results and announces itself on moe.registry."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from contracts.events import ChatMessage, TaskAssigned, TaskResult, TaskSpec, new_id
from contracts.topics import REGISTRY, RESULTS, task_topic
from services.tools.app import create_app
from services.tools.settings import ToolsSettings
from tests.support.servers import serve
from tests.support.topics import first_event, publish_events

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
async def tools_service(kafka_url: str) -> AsyncIterator[ToolsSettings]:
    settings = ToolsSettings(
        kafka_url=kafka_url,
        searxng_url="",
        pool_size=1,
        heartbeat_interval=1.0,
        # Unique: other tools services in this test process would share the default id.
        worker_id=new_id("tools-test-"),
    )
    async with serve(create_app(settings)):
        yield settings


async def test_tool_task_round_trip(kafka_url: str, tools_service: ToolsSettings) -> None:
    request_id = new_id("req-tools-")
    event = TaskAssigned(
        request_id=request_id,
        tenant="acme",
        task=TaskSpec(
            id="t-calc",
            task="multiply",
            category="tools",
            worker="tool",
            tool="calculate",
            args={"expression": "123456789 * 987654321"},
        ),
        messages=[ChatMessage(role="user", content="What is 123456789 * 987654321?")],
    )
    await publish_events(kafka_url, [(event, task_topic("tool"))])
    result = TaskResult.model_validate(await first_event(kafka_url, RESULTS, request_id))
    assert (result.task_id, result.tenant, result.error) == ("t-calc", "acme", None)
    assert "result: 121932631112635269" in result.output
    # Any member of the moe-tools group may answer: the pipeline's tools worker runs too.
    assert result.worker_id.startswith("tools-") and result.model == "tool:calculate"


async def test_heartbeat_on_the_registry(kafka_url: str, tools_service: ToolsSettings) -> None:
    beat = await first_event(kafka_url, REGISTRY, tools_service.worker_id)
    assert beat["kind"] == "worker.heartbeat"
    assert "calculate" in beat["capabilities"] and "research" not in beat["capabilities"]

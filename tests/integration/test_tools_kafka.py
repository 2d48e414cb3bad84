"""The tools service on the real broker: started as it runs in the stack (uvicorn, lifespan,
Kafka consumer, heartbeat), it answers a TaskAssigned on moe.tasks.tool with the exact value
on moe.results and announces itself on moe.registry."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from contracts.events import ChatMessage, TaskAssigned, TaskResult, TaskSpec, new_id
from contracts.topics import REGISTRY, RESULTS, task_topic
from contracts.wire import event_headers
from services.tools.app import create_app
from services.tools.settings import ToolsSettings
from tests.support.servers import serve

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


async def publish(kafka_url: str, event: TaskAssigned, topic: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka_url)
    await producer.start()
    try:
        headers = [(k, v.encode()) for k, v in event_headers().items()]
        await producer.send_and_wait(
            topic,
            json.dumps(event.model_dump(mode="json")).encode(),
            key=event.request_id.encode(),
            headers=headers,
        )
    finally:
        await producer.stop()


async def first_keyed(kafka_url: str, topic: str, key: str) -> dict[str, Any]:
    """The first event on `topic` whose Kafka key is `key`, reading from the beginning."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_url,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=5,
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        async with asyncio.timeout(30):
            while True:
                batches = await consumer.getmany(timeout_ms=100)
                for records in batches.values():
                    for record in records:
                        if record.key == key.encode():
                            return dict(json.loads(record.value))
    finally:
        await consumer.stop()


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
    await publish(kafka_url, event, task_topic("tool"))
    result = TaskResult.model_validate(await first_keyed(kafka_url, RESULTS, request_id))
    assert (result.task_id, result.tenant, result.error) == ("t-calc", "acme", None)
    assert "result: 121932631112635269" in result.output
    assert result.worker_id == tools_service.worker_id


async def test_heartbeat_on_the_registry(kafka_url: str, tools_service: ToolsSettings) -> None:
    beat = await first_keyed(kafka_url, REGISTRY, tools_service.worker_id)
    assert beat["kind"] == "worker.heartbeat"
    assert "calculate" in beat["capabilities"] and "research" not in beat["capabilities"]

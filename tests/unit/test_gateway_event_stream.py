"""A streamed answer served by a real uvicorn server (the ASGI transport of the other
gateway tests never reports a client's disconnect): a client that leaves frees its
request's slot at once, and a stream that ends leaves its connection fit for reuse."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from faststream.kafka import TestKafkaBroker

from contracts import ReplyChunk, ReplyDone, RequestReceived
from contracts.topics import REPLIES, REQUESTS
from contracts.wire import make_broker, publish_event
from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from tests.support.in_memory_replies import in_memory_replies
from tests.support.servers import serve

QUESTION = {"model": "moe-orchestrator", "messages": [{"role": "user", "content": "Hi?"}]}


class Pipeline:
    """Answers each request with one token; ends the answer only when told to."""

    def __init__(self) -> None:
        self.finish = True


@pytest.fixture
async def served() -> AsyncIterator[tuple[httpx.AsyncClient, Pipeline]]:
    # A deadline far beyond the test's waits: a slot freed in time was freed by the
    # disconnect, not by the deadline.
    settings = GatewaySettings(reply_timeout_s=600.0, health_watch_interval_s=0)
    broker = make_broker("unused:9092", "gateway")
    app = create_app(settings, broker, in_memory_replies(broker))
    pipeline = Pipeline()

    @broker.subscriber(REQUESTS, group_id="fake-pipeline")
    async def on_request(event: RequestReceived) -> None:
        rid = event.request_id
        await publish_event(broker, ReplyChunk(request_id=rid, seq=0, delta="Hi"), REPLIES)
        if pipeline.finish:
            await publish_event(broker, ReplyDone(request_id=rid, seq=1), REPLIES)

    async with (
        TestKafkaBroker(broker),
        serve(app) as url,
        httpx.AsyncClient(base_url=url, timeout=10.0) as client,
    ):
        yield client, pipeline


async def in_flight(client: httpx.AsyncClient) -> int:
    response = await client.get("/health/live")
    return int(response.json()["in_flight"])


async def test_a_client_that_leaves_mid_stream_frees_its_slot(served) -> None:  # type: ignore[no-untyped-def]
    client, pipeline = served
    pipeline.finish = False  # the answer never ends by itself
    async with client.stream(
        "POST", "/v1/chat/completions", json={**QUESTION, "stream": True}
    ) as response:
        lines = response.aiter_lines()
        while "Hi" not in await anext(lines):
            pass
        assert await in_flight(client) == 1
    # Leaving the block closed the connection mid-answer.
    async with asyncio.timeout(5):
        while await in_flight(client):  # noqa: ASYNC110 - polled over HTTP, as a client would
            await asyncio.sleep(0.02)


async def test_a_finished_stream_leaves_its_connection_usable(served) -> None:  # type: ignore[no-untyped-def]
    client, _ = served
    for _ in range(3):  # one kept-alive connection: a stray cancel would break the next
        response = await client.post("/v1/chat/completions", json={**QUESTION, "stream": True})
        assert response.status_code == 200
        assert '"content":"Hi"' in response.text
        assert response.text.rstrip().endswith("data: [DONE]")
    assert await in_flight(client) == 0

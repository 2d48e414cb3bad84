"""Research against a local SearXNG-compatible server started by the test: citations,
failures as error results, and the Kafka subscriber on moe.tasks.research."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from faststream.kafka import TestKafkaBroker

from contracts.events import ChatMessage, TaskAssigned, TaskResult, TaskSpec
from contracts.topics import RESULTS, task_topic
from services.tools.handlers import build_broker
from services.tools.research import Research
from services.tools.runner import ToolRunner
from services.tools.settings import ToolsSettings
from tests.support.servers import serve
from tests.unit.tools.helpers import Inbox

pytestmark = pytest.mark.timeout(60)

RESULTS_JSON = {
    "results": [
        {"title": f"Result {n}", "url": f"https://example.org/{n}", "content": f"Snippet  {n}\n."}
        for n in range(1, 9)
    ]
    + [{"title": "no url"}]
}


class FakeSearx:
    """Answers /search according to `mode`; remembers the queries it got."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.queries: list[dict[str, str]] = []
        self.app = FastAPI()
        self.app.get("/search")(self.search)

    async def search(self, request: Request) -> Response:
        self.queries.append(dict(request.query_params))
        if self.mode == "slow":
            await asyncio.sleep(2)
        if self.mode == "error":
            return JSONResponse({"detail": "boom"}, status_code=500)
        if self.mode == "html":
            return PlainTextResponse("<html>format not enabled</html>")
        if self.mode == "empty":
            return JSONResponse({"results": []})
        return JSONResponse(RESULTS_JSON)


@pytest.fixture(scope="module")
async def searx() -> AsyncIterator[tuple[FakeSearx, str]]:
    fake = FakeSearx()
    async with serve(fake.app) as url:
        yield fake, url


@pytest.fixture
async def research(searx: tuple[FakeSearx, str]) -> AsyncIterator[Research]:
    fake, url = searx
    fake.mode, fake.queries[:] = "ok", []
    settings = ToolsSettings(searxng_url=url + "/", research_results=3, research_timeout=0.5)
    async with Research(settings) as client:
        yield client


def research_task(query: str | None = "kafka tansu", task: str = "What is Tansu?") -> TaskAssigned:
    spec = TaskSpec(id="r1", task=task, category="research", worker="research", search_query=query)
    return TaskAssigned(
        request_id="req-9",
        tenant="acme",
        task=spec,
        messages=[ChatMessage(role="user", content=task)],
    )


async def test_top_results_become_numbered_citations(
    research: Research, searx: tuple[FakeSearx, str]
) -> None:
    result = await research.run_task(research_task(), "w1")
    assert (result.error, result.confidence, result.task_id) == (None, "medium", "r1")
    assert result.output == (
        "[1] Result 1 — https://example.org/1\n    Snippet 1 .\n"
        "[2] Result 2 — https://example.org/2\n    Snippet 2 .\n"
        "[3] Result 3 — https://example.org/3\n    Snippet 3 ."
    )
    assert searx[0].queries == [{"q": "kafka tansu", "format": "json"}]


async def test_task_text_is_the_query_without_search_query(
    research: Research, searx: tuple[FakeSearx, str]
) -> None:
    await research.run_task(research_task(query=None, task="latest tansu release"), "w1")
    assert searx[0].queries[-1]["q"] == "latest tansu release"


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("slow", "search timed out after 0.5 s"),
        ("error", "SearXNG answered HTTP 500"),
        ("html", "SearXNG did not answer JSON (is format=json enabled?)"),
        ("empty", "no results for 'kafka tansu'"),
    ],
)
async def test_failures_are_error_results(
    research: Research, searx: tuple[FakeSearx, str], mode: str, error: str
) -> None:
    searx[0].mode = mode
    result = await research.run_task(research_task(), "w1")
    assert (result.error, result.output) == (error, "")


async def test_unreachable_searxng() -> None:
    settings = ToolsSettings(searxng_url="http://127.0.0.1:9", research_timeout=2)
    async with Research(settings) as client:
        result = await client.run_task(research_task(), "w1")
    assert result.error is not None and result.error.startswith("search failed: ConnectError")


async def test_research_over_kafka(
    research: Research, runner: ToolRunner, settings: ToolsSettings
) -> None:
    broker = build_broker(settings, runner, research)
    inbox = Inbox(broker, [RESULTS])
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(research_task().model_dump(mode="json"), task_topic("research"))
        result: Any = await inbox.first(RESULTS)
    assert isinstance(result, TaskResult)
    assert (result.request_id, result.tenant, result.task_id) == ("req-9", "acme", "r1")
    assert result.output.startswith("[1] Result 1 — https://example.org/1")

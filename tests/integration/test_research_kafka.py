"""Research on the real broker: a task on moe.tasks.research is answered from a local
SearXNG-compatible server with numbered citations on moe.results."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI

from contracts.events import ChatMessage, TaskAssigned, TaskResult, TaskSpec, new_id
from contracts.topics import RESULTS, task_topic
from services.tools.app import create_app
from services.tools.settings import ToolsSettings
from tests.support.servers import serve
from tests.support.topics import first_event, publish_events

pytestmark = pytest.mark.timeout(120)


def searx_app() -> FastAPI:
    app = FastAPI()

    @app.get("/search")
    async def search(q: str, format: str) -> dict[str, object]:
        return {
            "results": [
                {
                    "title": f"About {q}",
                    "url": "https://example.org/a",
                    "content": f"{format} answer",
                }
            ]
        }

    return app


@pytest.fixture(scope="module")
async def research_service(kafka_url: str) -> AsyncIterator[ToolsSettings]:
    async with serve(searx_app()) as searx_url:
        settings = ToolsSettings(kafka_url=kafka_url, searxng_url=searx_url, pool_size=1)
        async with serve(create_app(settings)):
            yield settings


async def test_research_task_round_trip(kafka_url: str, research_service: ToolsSettings) -> None:
    request_id = new_id("req-research-")
    event = TaskAssigned(
        request_id=request_id,
        task=TaskSpec(
            id="t-web",
            task="Who maintains Tansu?",
            category="research",
            worker="research",
            search_query="tansu broker",
        ),
        messages=[ChatMessage(role="user", content="Who maintains Tansu?")],
    )
    await publish_events(kafka_url, [(event, task_topic("research"))])
    result = TaskResult.model_validate(await first_event(kafka_url, RESULTS, request_id))
    assert result.error is None
    assert result.output == "[1] About tansu broker — https://example.org/a\n    json answer"

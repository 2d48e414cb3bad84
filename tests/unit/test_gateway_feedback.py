"""The gateway's feedback route and its relay of reasoning chunks, on the in-memory
broker with a fake pipeline that answers and commits each request."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from faststream.kafka import TestKafkaBroker

from contracts import (
    AnswerCommitted,
    FeedbackGiven,
    ReplyChunk,
    ReplyDone,
    RequestReceived,
    response_id_for,
)
from contracts.topics import ANSWERS, FEEDBACK, REPLIES, REQUESTS
from contracts.wire import make_broker, publish_event
from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from tests.support.in_memory_replies import in_memory_replies

KEYS = {"key-acme": "acme", "key-other": "other"}
MODELS = ["small-7b::math", "judge::judge"]


@pytest.fixture
async def gateway() -> AsyncIterator[tuple[httpx.AsyncClient, list[FeedbackGiven]]]:
    settings = GatewaySettings(
        reply_timeout_s=2.0, health_watch_interval_s=0, api_keys=KEYS, feedback_lookup_wait_s=0.2
    )
    broker = make_broker("unused:9092", "gateway")
    app = create_app(settings, broker, in_memory_replies(broker))
    ratings: list[FeedbackGiven] = []

    @broker.subscriber(REQUESTS, group_id="fake-pipeline")
    async def on_request(event: RequestReceived) -> None:
        ids = {"request_id": event.request_id, "tenant": event.tenant}
        for reply in [
            ReplyChunk(**ids, seq=0, delta="Plan: 1 task\n", channel="reasoning"),
            ReplyChunk(**ids, seq=1, delta="Four."),
            ReplyDone(**ids, seq=2),
        ]:
            await publish_event(broker, reply, REPLIES)
        committed = AnswerCommitted(
            **ids,
            response_id=response_id_for(event.request_id),
            question="2+2?",
            answer="Four.",
            models=MODELS,
        )
        await publish_event(broker, committed, ANSWERS)

    @broker.subscriber(FEEDBACK, group_id="fake-scores")
    async def on_feedback(event: FeedbackGiven) -> None:
        ratings.append(event)

    async with TestKafkaBroker(broker), app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            yield client, ratings


def auth(key: str = "key-acme") -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def ask(client: httpx.AsyncClient, **fields: Any) -> httpx.Response:
    body = {"model": "moe-orchestrator", "messages": [{"role": "user", "content": "2+2?"}]}
    return await client.post("/v1/chat/completions", json={**body, **fields}, headers=auth())


@pytest.mark.parametrize(("stars", "rating"), [(1, -1), (2, -1), (3, 0), (4, 1), (5, 1)])
async def test_a_rating_becomes_feedback_naming_the_answers_models(  # type: ignore[no-untyped-def]
    gateway, stars: int, rating: int
) -> None:
    client, ratings = gateway
    answered = (await ask(client)).json()
    body = {"response_id": answered["id"], "rating": stars, "comment": "ok"}
    response = await client.post("/v1/feedback", json=body, headers=auth())
    assert response.status_code == 200 and response.json()["models"] == MODELS
    [event] = ratings
    assert (event.stars, event.rating, event.comment) == (stars, rating, "ok")
    assert event.tenant == "acme" and event.models == MODELS
    assert event.response_id == answered["id"]


async def test_an_unknown_response_id_is_a_404_in_openai_shape(gateway) -> None:  # type: ignore[no-untyped-def]
    client, ratings = gateway
    body = {"response_id": "chatcmpl-nope", "rating": 5}
    response = await client.post("/v1/feedback", json=body, headers=auth())
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "response_not_found" and error["param"] == "response_id"
    assert ratings == []


async def test_another_tenants_response_cannot_be_rated(gateway) -> None:  # type: ignore[no-untyped-def]
    client, ratings = gateway
    answered = (await ask(client)).json()
    body = {"response_id": answered["id"], "rating": 1}
    response = await client.post("/v1/feedback", json=body, headers=auth("key-other"))
    assert response.status_code == 404 and ratings == []
    anonymous = await client.post("/v1/feedback", json=body)
    assert anonymous.status_code == 401


@pytest.mark.parametrize("rating", [0, 6, "good"])
async def test_a_rating_outside_1_to_5_is_a_400(gateway, rating: object) -> None:  # type: ignore[no-untyped-def]
    client, _ = gateway
    body = {"response_id": "chatcmpl-x", "rating": rating}
    response = await client.post("/v1/feedback", json=body, headers=auth())
    assert response.status_code == 400 and response.json()["error"]["param"] == "rating"


async def test_reasoning_chunks_are_relayed_as_reasoning_content(gateway) -> None:  # type: ignore[no-untyped-def]
    client, _ = gateway
    streamed = await ask(client, stream=True)
    data = [line[6:] for line in streamed.text.splitlines() if line.startswith("data: ")]
    deltas = [json.loads(d)["choices"][0]["delta"] for d in data[:-1] if json.loads(d)["choices"]]
    assert deltas[1:3] == [{"reasoning_content": "Plan: 1 task\n"}, {"content": "Four."}]
    whole = (await ask(client)).json()["choices"][0]["message"]
    assert whole == {"role": "assistant", "content": "Four.", "reasoning_content": "Plan: 1 task\n"}

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from faststream.kafka import TestKafkaBroker

from contracts import ReplyChunk, ReplyDone, ReplyError, RequestReceived, Usage
from contracts.events import AnyEvent
from contracts.topics import REPLIES, REQUESTS
from contracts.wire import make_broker, publish_event
from services.gateway.app import create_app
from services.gateway.relay import stream_events
from services.gateway.replies import ReplyStream
from services.gateway.settings import GatewaySettings
from tests.support.in_memory_replies import in_memory_replies

Responder = Callable[[RequestReceived], list[AnyEvent]]


def answer(*tokens: str) -> Responder:
    def respond(request: RequestReceived) -> list[AnyEvent]:
        chunks: list[AnyEvent] = [
            ReplyChunk(request_id=request.request_id, seq=i, delta=t) for i, t in enumerate(tokens)
        ]
        usage = Usage(prompt_tokens=4, completion_tokens=len(tokens))
        return [*chunks, ReplyDone(request_id=request.request_id, seq=len(tokens), usage=usage)]

    return respond


class FakePipeline:
    """Stands in for planner/experts/merger: answers each request as scripted."""

    def __init__(self) -> None:
        self.respond: Responder = answer("Hi", " there")
        self.requests: list[RequestReceived] = []


@pytest.fixture
async def gateway(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[httpx.AsyncClient, FakePipeline]]:
    overrides = getattr(request, "param", {})
    settings = GatewaySettings(
        **{"reply_timeout_s": 2.0, "health_watch_interval_s": 0, **overrides}
    )
    broker = make_broker("unused:9092", "gateway")
    app = create_app(settings, broker, in_memory_replies(broker))
    pipeline = FakePipeline()

    @broker.subscriber(REQUESTS, group_id="fake-pipeline")
    async def on_request(event: RequestReceived) -> None:
        pipeline.requests.append(event)
        for reply in pipeline.respond(event):
            await publish_event(broker, reply, REPLIES)

    # The lifespan connects the gateway (to the in-memory broker here) before it serves.
    async with TestKafkaBroker(broker), app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            yield client, pipeline


def body(**fields: Any) -> dict[str, Any]:
    return {"model": "moe-orchestrator", "messages": [{"role": "user", "content": "Hi?"}], **fields}


def sse_events(text: str) -> list[Any]:
    data = [line[len("data: ") :] for line in text.splitlines() if line.startswith("data: ")]
    return [d if d == "[DONE]" else json.loads(d) for d in data]


async def test_models_lists_the_three_modes(gateway) -> None:  # type: ignore[no-untyped-def]
    client, _ = gateway
    response = await client.get("/v1/models")
    ids = [m["id"] for m in response.json()["data"]]
    assert ids == ["moe-orchestrator", "moe-orchestrator-code", "moe-orchestrator-concise"]


async def test_non_streamed_completion_has_content_and_usage(gateway) -> None:  # type: ignore[no-untyped-def]
    client, pipeline = gateway
    response = await client.post("/v1/chat/completions", json=body(model="moe-orchestrator-code"))
    assert response.status_code == 200
    data = response.json()
    assert data["object"] == "chat.completion"
    assert data["choices"][0]["message"] == {"role": "assistant", "content": "Hi there"}
    assert data["choices"][0]["finish_reason"] == "stop"
    assert data["usage"] == {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}
    [sent] = pipeline.requests
    assert sent.mode == "code" and sent.messages[0].content == "Hi?"
    assert data["id"] == f"chatcmpl-{sent.request_id}"


async def test_stream_follows_openai_chunk_order(gateway) -> None:  # type: ignore[no-untyped-def]
    client, _ = gateway
    response = await client.post(
        "/v1/chat/completions", json=body(stream=True, stream_options={"include_usage": True})
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    role, first, second, finish, usage, done = sse_events(response.text)
    assert role["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert first["choices"][0]["delta"] == {"content": "Hi"}
    assert second["choices"][0]["delta"] == {"content": " there"}
    assert finish["choices"][0] == {"index": 0, "delta": {}, "finish_reason": "stop"}
    assert usage["choices"] == [] and usage["usage"]["total_tokens"] == 6
    assert done == "[DONE]"
    assert len({e["id"] for e in (role, first, finish, usage)}) == 1


async def test_stream_without_usage_option_has_no_usage_chunk(gateway) -> None:  # type: ignore[no-untyped-def]
    client, _ = gateway
    response = await client.post("/v1/chat/completions", json=body(stream=True))
    events = sse_events(response.text)
    assert events[-1] == "[DONE]" and all("usage" not in e for e in events[:-1])


async def test_content_parts_are_joined(gateway) -> None:  # type: ignore[no-untyped-def]
    client, pipeline = gateway
    parts = [{"type": "text", "text": "Hello "}, {"type": "text", "text": "world"}]
    response = await client.post(
        "/v1/chat/completions", json=body(messages=[{"role": "user", "content": parts}])
    )
    assert response.status_code == 200
    assert pipeline.requests[0].messages[0].content == "Hello world"


@pytest.mark.parametrize(
    ("payload", "param"),
    [
        (b"{not json", None),
        (body(messages=None) | {"messages": []}, "messages"),
        ({"model": "moe-orchestrator"}, "messages"),
        (body(messages="hello"), "messages"),
        (body(temperature="hot"), "temperature"),
        (body(messages=[{"role": "wizard", "content": "x"}]), "messages.0.role"),
        (body(messages=[{"role": "assistant", "content": "only me"}]), "messages"),
        (body(n=2), "n"),
    ],
)
async def test_bad_input_is_a_400_openai_error(gateway, payload: Any, param: str | None) -> None:  # type: ignore[no-untyped-def]
    client, pipeline = gateway
    if isinstance(payload, bytes):
        response = await client.post(
            "/v1/chat/completions", content=payload, headers={"content-type": "application/json"}
        )
    else:
        response = await client.post("/v1/chat/completions", json=payload)
    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error" and error["message"]
    assert error["param"] == param
    assert pipeline.requests == []


async def test_unknown_model_is_a_404_openai_error(gateway) -> None:  # type: ignore[no-untyped-def]
    client, pipeline = gateway
    response = await client.post("/v1/chat/completions", json=body(model="gpt-17"))
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "model_not_found" and error["param"] == "model"
    assert "gpt-17" in error["message"] and pipeline.requests == []


def failing(status: int, after_tokens: int = 0) -> Responder:
    def respond(request: RequestReceived) -> list[AnyEvent]:
        chunks: list[AnyEvent] = [
            ReplyChunk(request_id=request.request_id, seq=i, delta="x") for i in range(after_tokens)
        ]
        error = ReplyError(
            request_id=request.request_id,
            seq=after_tokens,
            status=status,
            message="model server down",
        )
        return [*chunks, error]

    return respond


@pytest.mark.parametrize("stream", [False, True])
async def test_upstream_error_before_any_token_is_a_502(gateway, stream: bool) -> None:  # type: ignore[no-untyped-def]
    client, pipeline = gateway
    pipeline.respond = failing(502)
    response = await client.post("/v1/chat/completions", json=body(stream=stream))
    assert response.status_code == 502
    assert response.json()["error"]["message"] == "model server down"


async def test_upstream_error_mid_stream_ends_the_stream_with_an_error_event(gateway) -> None:  # type: ignore[no-untyped-def]
    client, pipeline = gateway
    pipeline.respond = failing(502, after_tokens=2)
    response = await client.post("/v1/chat/completions", json=body(stream=True))
    events = sse_events(response.text)
    assert [e["choices"][0]["delta"].get("content") for e in events[1:3]] == ["x", "x"]
    assert events[3]["error"]["message"] == "model server down"
    assert events[4] == "[DONE]"


@pytest.mark.parametrize("gateway", [{"reply_timeout_s": 0.3}], indirect=True)
@pytest.mark.parametrize("stream", [False, True])
async def test_no_reply_before_deadline_is_a_504(gateway, stream: bool) -> None:  # type: ignore[no-untyped-def]
    client, pipeline = gateway
    pipeline.respond = lambda request: []
    response = await client.post("/v1/chat/completions", json=body(stream=stream))
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "timeout"
    assert client._transport.app.state.pending._streams == {}  # type: ignore[attr-defined]
    [sent] = pipeline.requests
    assert sent.deadline_at is not None


@pytest.mark.parametrize("gateway", [{"api_keys": {"sk-acme": "acme"}}], indirect=True)
async def test_api_keys_authenticate_and_name_the_tenant(gateway) -> None:  # type: ignore[no-untyped-def]
    client, pipeline = gateway
    denied = await client.post("/v1/chat/completions", json=body())
    assert denied.status_code == 401 and denied.json()["error"]["code"] == "invalid_api_key"
    wrong = await client.post(
        "/v1/chat/completions", json=body(), headers={"Authorization": "Bearer sk-other"}
    )
    assert wrong.status_code == 401
    ok = await client.post(
        "/v1/chat/completions", json=body(), headers={"Authorization": "Bearer sk-acme"}
    )
    assert ok.status_code == 200 and pipeline.requests[0].tenant == "acme"


@pytest.mark.parametrize("gateway", [{"max_in_flight": 1, "reply_timeout_s": 1.0}], indirect=True)
async def test_saturated_gateway_answers_429_with_retry_after(gateway) -> None:  # type: ignore[no-untyped-def]
    client, pipeline = gateway
    pipeline.respond = lambda request: []
    waiting = asyncio.create_task(client.post("/v1/chat/completions", json=body()))
    while not pipeline.requests:  # noqa: ASYNC110 - the request arrives via the broker
        await asyncio.sleep(0.01)
    rejected = await client.post("/v1/chat/completions", json=body())
    assert rejected.status_code == 429 and rejected.headers["retry-after"] == "1"
    assert rejected.json()["error"]["type"] == "rate_limit_error"
    assert (await waiting).status_code == 504


async def test_events_that_arrived_together_share_a_write_each_its_own_sse_event() -> None:
    stream = ReplyStream("r", deadline=time.monotonic() + 5)
    stream.put(ReplyChunk(request_id="r", seq=1, delta=" world"))  # queued with the first
    first = ReplyChunk(request_id="r", seq=0, delta="Hello")
    writes = stream_events(stream, first, "chatcmpl-r", "m", True)
    together = await anext(writes)
    stream.put(ReplyChunk(request_id="r", seq=2, delta="!"))  # arrives after that write
    alone = await anext(writes)
    stream.put(ReplyDone(request_id="r", seq=3, usage=Usage(prompt_tokens=1, completion_tokens=3)))
    last = await anext(writes)
    with pytest.raises(StopAsyncIteration):
        await anext(writes)
    events = [[e for e in w.split(b"\n\n") if e] for w in (together, alone, last)]
    # role + the two tokens that were there; the later token alone; finish + usage + [DONE].
    assert [len(w) for w in events] == [3, 1, 3]
    assert b'"role":"assistant"' in events[0][0] and b'"content":"Hello"' in events[0][1]
    assert b'"content":" world"' in events[0][2] and b'"content":"!"' in events[1][0]
    assert b'"finish_reason":"stop"' in events[2][0] and b'"usage"' in events[2][1]
    assert events[2][2] == b"data: [DONE]"

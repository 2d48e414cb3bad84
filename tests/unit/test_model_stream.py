"""The OpenAI-compatible streaming client against model servers over real HTTP: the
scripted model, and a server that sends what no model server should."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from fastapi.responses import Response

from bench.scripted_llm import Script, ScriptedModel, create_scripted_app
from contracts import GenerationOptions, Usage
from contracts.inference import InferenceServer
from contracts.model_stream import ModelCallError, ModelClient, Piece
from tests.support.servers import serve

PROMPT = [{"role": "user", "content": "Hi"}]


@pytest.fixture
async def scripted() -> AsyncIterator[tuple[ScriptedModel, ModelClient]]:
    model = ScriptedModel()
    async with serve(create_scripted_app(model)) as url:
        client = ModelClient(InferenceServer(name="s", url=f"{url}/v1", token="secret"))
        yield model, client
        await client.aclose()


async def collect(client: ModelClient, options: GenerationOptions) -> list[Piece]:
    return [piece async for piece in client.stream("m", PROMPT, options)]


async def test_tokens_finish_and_usage_arrive_in_order(scripted) -> None:  # type: ignore[no-untyped-def]
    model, client = scripted
    model.reset(Script(tokens=["Hel", "lo"], prompt_tokens=3))
    pieces = await collect(client, GenerationOptions(max_tokens=9, temperature=0.5))
    assert [p.text for p in pieces if p.text] == ["Hel", "lo"]
    assert [p.finish_reason for p in pieces if p.finish_reason] == ["stop"]
    assert pieces[-1].usage == Usage(prompt_tokens=3, completion_tokens=2)
    [call] = model.calls
    assert call["stream"] is True and call["stream_options"] == {"include_usage": True}
    assert (call["max_tokens"], call["temperature"]) == (9, 0.5)
    assert "top_p" not in call and "stop" not in call  # unset options are not sent


async def test_refused_call_raises_with_the_servers_reason(scripted) -> None:  # type: ignore[no-untyped-def]
    model, client = scripted
    model.reset(Script(fail_status=503))
    with pytest.raises(ModelCallError, match="HTTP 503"):
        await collect(client, GenerationOptions())


async def test_stream_broken_off_by_the_server_raises(scripted) -> None:  # type: ignore[no-untyped-def]
    model, client = scripted
    model.reset(Script(tokens=["a", "b", "c"], fail_after_tokens=1))
    received: list[str] = []
    with pytest.raises(ModelCallError):
        async for piece in client.stream("m", PROMPT, GenerationOptions()):
            received.append(piece.text)
    assert received == ["a"]


@pytest.mark.parametrize(
    ("body", "media_type"),
    [
        (b"data: {not json\n\n", "text/event-stream"),
        (b'{"choices": []}', "application/json"),
        (b"data: \xff\xfe\n\n", "text/event-stream"),  # not UTF-8
        (b"data: " + b"x" * (3 << 20) + b"\n\n", "text/event-stream"),  # a 3 MiB line
    ],
)
async def test_unreadable_stream_raises_instead_of_hanging(body: bytes, media_type: str) -> None:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def broken() -> Response:
        return Response(body, media_type=media_type)

    async with serve(app) as url:
        client = ModelClient(InferenceServer(name="b", url=f"{url}/v1"))
        with pytest.raises(ModelCallError, match="unreadable"):
            await collect(client, GenerationOptions())
        await client.aclose()


@pytest.mark.parametrize("sends_done", [False, True])
async def test_stream_ended_without_a_finish_reason_raises(scripted, sends_done: bool) -> None:  # type: ignore[no-untyped-def]
    # Closed early, or [DONE] after an aborted generation (llama-cpp-python interrupted).
    model, client = scripted
    model.reset(Script(tokens=["a", "b", "c"], cut_after_tokens=2, cut_sends_done=sends_done))
    received: list[str] = []
    with pytest.raises(ModelCallError, match="without a finish_reason"):
        async for piece in client.stream("m", PROMPT, GenerationOptions()):
            received.append(piece.text)
    assert received == ["a", "b"]


async def test_an_empty_answer_is_reported_as_finished_with_no_text(scripted) -> None:  # type: ignore[no-untyped-def]
    model, client = scripted
    model.reset(Script(tokens=[]))
    pieces = await collect(client, GenerationOptions())
    assert [p.text for p in pieces if p.text] == []
    assert [p.finish_reason for p in pieces if p.finish_reason] == ["stop"]


@pytest.mark.parametrize(
    ("tokens", "texts"),
    [
        (["\n", " ", "Hi", " there", "\n"], ["\n Hi", " there", "\n"]),
        (["\n", "  "], []),  # nothing visible: no text at all
    ],
)
async def test_leading_whitespace_is_joined_to_the_first_visible_text(
    scripted,  # type: ignore[no-untyped-def]
    tokens: list[str],
    texts: list[str],
) -> None:
    model, client = scripted
    model.reset(Script(tokens=tokens))
    pieces = await collect(client, GenerationOptions())
    assert [p.text for p in pieces if p.text] == texts
    assert [p.finish_reason for p in pieces if p.finish_reason] == ["stop"]

import time
from collections.abc import AsyncIterator

import pytest
from faststream.kafka import TestKafkaBroker

from bench.scripted_llm import Script, ScriptedModel, create_scripted_app
from contracts import ChatMessage, GenerationOptions, ReplyChunk, TaskAssigned, TaskResult, TaskSpec
from contracts.inference import ExpertModel, InferenceServer
from contracts.topics import REPLIES, RESULTS, task_topic
from contracts.wire import make_broker
from deploy.local import free_port
from services.experts.app import create_app
from services.experts.settings import ExpertSettings
from tests.support.servers import serve


@pytest.fixture
async def model() -> AsyncIterator[tuple[ScriptedModel, str]]:
    scripted = ScriptedModel()
    async with serve(create_scripted_app(scripted)) as url:
        yield scripted, url


def settings_for(url: str) -> ExpertSettings:
    return ExpertSettings(
        inference_servers=[InferenceServer(name="gpu", url=f"{url}/v1", timeout=5)],
        expert_models={"general": [ExpertModel(model="scripted-general", endpoint="gpu")]},
    )


def task(stream_reply: bool = True, **fields: object) -> dict[str, object]:
    assigned = TaskAssigned(
        request_id="r1",
        tenant="acme",
        task=TaskSpec(id="r1:1", task="Explain Kafka", category="math"),
        messages=[
            ChatMessage(role="system", content="Be kind."),
            ChatMessage(role="user", content="Explain Kafka"),
        ],
        options=GenerationOptions(temperature=0.2, max_tokens=50),
        stream_reply=stream_reply,
        **fields,  # type: ignore[arg-type]
    )
    return assigned.model_dump(mode="json")


async def run_task(url: str, body: dict[str, object], replies: int = 0):  # type: ignore[no-untyped-def]
    from tests.unit.conftest import capture

    broker = make_broker("unused:9092", "experts")
    create_app(settings_for(url), broker)
    seen = capture(broker, [REPLIES, RESULTS])
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(body, task_topic("expert"))
        [result] = await seen.wait_for(RESULTS)
    return result, seen.events[REPLIES]


async def test_expert_streams_each_token_to_replies_then_reports(model) -> None:  # type: ignore[no-untyped-def]
    scripted, url = model
    result, chunks = await run_task(url, task())
    assert [c.delta for c in chunks] == ["Hello", " from", " the", " model", "."]
    assert [c.seq for c in chunks] == [0, 1, 2, 3, 4]
    assert all(isinstance(c, ReplyChunk) and c.tenant == "acme" for c in chunks)
    assert isinstance(result, TaskResult)
    assert result.output == "Hello from the model." and result.error is None
    assert result.streamed_chunks == 5 and result.usage.completion_tokens == 5
    assert result.usage.prompt_tokens == 7 and result.model == "scripted-general"
    # The category had no model of its own, so the general expert answered it.
    [call] = scripted.calls
    assert call["model"] == "scripted-general" and call["stream"] is True
    assert call["temperature"] == 0.2 and call["max_tokens"] == 50
    assert call["messages"][0]["role"] == "system" and "Be kind." in call["messages"][0]["content"]
    assert call["messages"][-1] == {"role": "user", "content": "Explain Kafka"}


async def test_unstreamed_task_reports_in_the_reference_format(model) -> None:  # type: ignore[no-untyped-def]
    scripted, url = model
    scripted.reset(Script(tokens=["CORE_FINDING: x\n", "CONFIDENCE: ", "Low", "\nGAPS: y"]))
    result, chunks = await run_task(url, task(stream_reply=False))
    assert chunks == [] and result.streamed_chunks == 0
    assert result.output.startswith("CORE_FINDING: x") and result.confidence == "low"
    system = scripted.calls[0]["messages"][0]["content"]
    assert "CONFIDENCE: <high|medium|low>" in system


async def test_streamed_answer_states_no_confidence(model) -> None:  # type: ignore[no-untyped-def]
    scripted, url = model
    result, _ = await run_task(url, task())
    assert result.confidence is None
    assert "CONFIDENCE" not in scripted.calls[0]["messages"][0]["content"]


async def test_model_error_becomes_a_failed_result(model) -> None:  # type: ignore[no-untyped-def]
    scripted, url = model
    scripted.reset(Script(fail_status=500))
    result, chunks = await run_task(url, task())
    assert chunks == [] and result.error is not None and "scripted-general" in result.error


async def test_unreachable_model_server_becomes_a_failed_result() -> None:
    result, _ = await run_task(f"http://127.0.0.1:{free_port()}", task())
    assert result.error is not None and "ConnectError" in result.error


async def test_usage_is_estimated_when_the_server_reports_none(model) -> None:  # type: ignore[no-untyped-def]
    scripted, url = model
    scripted.reset(Script(tokens=["a", "b", "c"], report_usage=False))
    result, _ = await run_task(url, task())
    assert result.usage.completion_tokens == 3 and result.usage.prompt_tokens >= 1
    # Estimated over what the model was sent, the expert's system prompt included.
    sent = scripted.calls[0]["messages"]
    assert result.usage.prompt_tokens == sum(len(m["content"]) for m in sent) // 4


async def test_expired_task_is_not_sent_to_the_model(model) -> None:  # type: ignore[no-untyped-def]
    scripted, url = model
    result, _ = await run_task(url, task(deadline_at=time.time() - 1))
    assert result.error is not None and "deadline" in result.error
    assert scripted.calls == []

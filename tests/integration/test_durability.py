"""Durability with real processes: the local stack (Kafka and the five services, as
`moe run` starts them) keeps its events across a restart, and its services ride out a
broker killed with SIGKILL while the launcher's supervisor brings it back."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator

import openai
import pytest
from aiokafka import AIOKafkaProducer

from bench.scripted_llm import ScriptedModel
from contracts import FeedbackGiven, new_id
from contracts.inference import ExpertModel, InferenceServer
from contracts.topics import FEEDBACK, PLANS, REQUESTS
from contracts.wire import event_headers
from deploy.local import LocalStack, StackConfig, free_port
from deploy.local.health import file_fresh
from deploy.local.supervisor import Supervisor
from tests.support.gateway import gateway_client
from tests.support.topics import read_topic


@pytest.fixture(scope="module")
def stack_config(
    tmp_path_factory: pytest.TempPathFactory, scripted_server: tuple[ScriptedModel, str]
) -> StackConfig:
    _, url = scripted_server
    work = tmp_path_factory.mktemp("durable-stack")
    return StackConfig(
        broker_port=free_port(),
        controller_port=free_port(),
        gateway_port=free_port(),
        tools_port=free_port(),
        state_dir=work / "state",
        log_dir=work / "logs",
        start_graphdb=False,
        start_llm=False,
        llm_planner=False,  # the scripted model cannot plan; one model call per question
        inference_servers=[InferenceServer(name="scripted", url=f"{url}/v1", timeout=10)],
        model="scripted-general",
        expert_models={"general": [ExpertModel(model="scripted-general", endpoint="scripted")]},
    )


async def ask(api_url: str, question: str) -> openai.types.chat.ChatCompletion:
    client = gateway_client(api_url.removesuffix("/v1"))
    return await client.chat.completions.create(
        model="moe-orchestrator", messages=[{"role": "user", "content": question}]
    )


@pytest.fixture(scope="module")
async def answered_before_restart(
    stack_config: StackConfig, scripted_server: tuple[ScriptedModel, str]
) -> tuple[str, openai.types.chat.ChatCompletion]:
    """A question answered by a stack that was then stopped."""
    scripted, _ = scripted_server
    scripted.reset()
    question = f"What survives a restart? ({new_id()})"
    async with LocalStack(stack_config) as stack:
        first = await ask(stack.config.api_url, question)
    assert first.choices[0].message.content and len(scripted.calls) == 1
    return question, first


@pytest.fixture(scope="module")
async def restarted_stack(
    stack_config: StackConfig, answered_before_restart: object
) -> AsyncIterator[tuple[LocalStack, list[str]]]:
    """The same stack started again on the same state, under the launcher's supervisor;
    yields it with the names of the components the supervisor restarted."""
    restarts: list[str] = []
    async with LocalStack(stack_config) as stack:
        stop = asyncio.Event()
        supervisor = Supervisor(stack.components, lambda name, *_: restarts.append(name))
        watching = asyncio.create_task(supervisor.run(stop))
        try:
            yield stack, restarts
        finally:
            stop.set()
            await watching


async def test_a_restarted_stack_keeps_its_events_and_serves_cached_answers(
    answered_before_restart: tuple[str, openai.types.chat.ChatCompletion],
    restarted_stack: tuple[LocalStack, list[str]],
    scripted: ScriptedModel,
) -> None:
    question, first = answered_before_restart
    stack, _ = restarted_stack
    again = await ask(stack.config.api_url, question)
    bootstrap = stack.config.bootstrap
    [(request, _)] = await read_topic(bootstrap, REQUESTS, first.id.removeprefix("chatcmpl-"), 1)
    [(hit_plan, _)] = await read_topic(bootstrap, PLANS, again.id.removeprefix("chatcmpl-"), 1)
    # The first ask's trail is still on its topics, and its answer came from the cache
    # view rebuilt from moe.answers: no model call, the same words.
    assert request["messages"][0]["content"] == question
    # Each pure Kafka worker beats into the liveness file the launcher watches.
    for worker in ("planner", "experts", "merger"):
        assert await file_fresh(stack.config.state_dir / "liveness" / worker, 30.0)
    assert hit_plan["cache_hit"]["answer"] == first.choices[0].message.content
    assert again.choices[0].message.content == first.choices[0].message.content
    assert scripted.calls == []


async def publish_acknowledged(bootstrap: str, key: str, count: int) -> list[int]:
    """Publish `count` events with acks=all; return the offsets the broker acknowledged."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    headers = [(k, v.encode()) for k, v in event_headers().items()]
    try:
        offsets = []
        for i in range(count):
            event = FeedbackGiven(request_id=key, response_id=f"{key}-{i}", rating=1)
            sent = await producer.send_and_wait(
                FEEDBACK, event.model_dump_json().encode(), key=key.encode(), headers=headers
            )
            offsets.append(sent.offset)
        return offsets
    finally:
        await producer.stop()


async def test_services_reconnect_after_the_broker_is_killed(
    restarted_stack: tuple[LocalStack, list[str]], scripted: ScriptedModel
) -> None:
    stack, restarts = restarted_stack
    api_url, bootstrap = stack.config.api_url, stack.config.bootstrap
    key = new_id("durable-")
    acknowledged = await publish_acknowledged(bootstrap, key, 20)
    assert (await ask(api_url, f"Before the kill ({new_id()})")).choices[0].message.content

    # A slow answer is in flight when the broker dies.
    scripted.script.first_token_delay_s = 3.0
    in_flight = asyncio.create_task(ask(api_url, f"In flight ({new_id()})"))
    await asyncio.sleep(1.0)
    broker = stack.component("broker")
    assert broker.pid is not None
    os.killpg(broker.pid, signal.SIGKILL)

    # The in-flight request ends within seconds, not at the gateway's 120 s deadline:
    # with its answer if the broker was back in time, else with a 503 that says why.
    async with asyncio.timeout(30):
        try:
            answered = await in_flight
            assert answered.choices[0].message.content
        except openai.APIStatusError as exc:
            assert exc.status_code == 503 and "Lost the broker" in exc.message

    scripted.script.first_token_delay_s = 0.0
    async with asyncio.timeout(120):  # the supervisor restarts the broker; services rejoin
        while True:
            try:
                after = await ask(api_url, f"After the restart ({new_id()})")
                break
            except (openai.APIStatusError, openai.APIConnectionError):
                await asyncio.sleep(1.0)
    assert after.choices[0].message.content and restarts == ["broker"]

    # Every event the broker acknowledged before it was killed is still there.
    found = await read_topic(bootstrap, FEEDBACK, key, len(acknowledged))
    assert [event["response_id"] for event, _ in found] == [f"{key}-{i}" for i in range(20)]

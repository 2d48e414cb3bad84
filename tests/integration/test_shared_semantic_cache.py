"""Two planner instances, one ChromaDB server (`chroma run`, as production runs it): an
answer written by whichever instance's writer read it is served as a semantic hit by
both instances, each planning the requests of its own partition."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from aiokafka import AIOKafkaConsumer

from bench.scripted_llm import Script, ScriptedModel
from contracts.topics import PLANS
from deploy.local import free_port
from services.planner.semantic_cache import open_client, tenant_collection
from tests.support.gateway import gateway_client
from tests.support.planner_stack import planner_stack

ANSWER = (
    "A consumer group shares a topic's partitions among its members: each partition is "
    "read by exactly one member, and when members join or leave the group rebalances so "
    "that every partition has a reader again."
)
PARAPHRASES = [
    "How does a Kafka consumer group share partitions among its members?",
    "How do Kafka consumer groups share the partitions among members?",
    "How are partitions shared among the members of a Kafka consumer group?",
    "How does a Kafka consumer group divide partitions among its members?",
]


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    port = free_port()
    chroma = Path(sys.executable).with_name("chroma")
    log = (tmp_path_factory.mktemp("chroma-server") / "chroma.log").open("wb")
    path = tmp_path_factory.mktemp("chroma-data")
    process = subprocess.Popen(
        [str(chroma), "run", "--path", str(path), "--port", str(port)], stdout=log, stderr=log
    )
    try:
        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat").is_success:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None:
                raise RuntimeError("chroma run exited at start")
            time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
async def two_planners(
    tmp_path_factory: pytest.TempPathFactory,
    scripted_server: tuple[ScriptedModel, str],
    chroma_server: int,
) -> AsyncIterator[tuple[str, str]]:
    """A broker of its own, two planners in one group (one partition each), one Chroma."""
    _, model_url = scripted_server
    async with planner_stack(
        tmp_path_factory.mktemp("shared-semantic"),
        model_url,
        planners=2,
        tools=False,
        chroma_host="127.0.0.1",
        chroma_port=chroma_server,
    ) as stack:
        yield stack.kafka_url, stack.gateway_url


async def ask(gateway_url: str, question: str) -> Any:
    client: openai.AsyncOpenAI = gateway_client(gateway_url)
    return await client.chat.completions.create(
        model="moe-orchestrator", messages=[{"role": "user", "content": question}]
    )


async def plan_partition(kafka_url: str, request_id: str) -> tuple[dict[str, Any], int]:
    """The plan of a request and its partition (= the planner instance that made it)."""
    consumer = AIOKafkaConsumer(
        PLANS, bootstrap_servers=kafka_url, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    try:
        async with asyncio.timeout(30):
            while True:
                for records in (await consumer.getmany(timeout_ms=100)).values():
                    for record in records:
                        if record.key == request_id.encode() and record.value is not None:
                            return json.loads(record.value), record.partition
    finally:
        await consumer.stop()


async def test_two_planners_serve_hits_from_one_shared_chroma(
    two_planners: tuple[str, str], scripted: ScriptedModel, chroma_server: int
) -> None:
    kafka_url, gateway_url = two_planners
    scripted.reset(Script(tokens=[ANSWER]))
    first = await ask(gateway_url, "How does a Kafka consumer group share its partitions?")
    assert len(scripted.calls) == 1
    client = open_client(None, "127.0.0.1", chroma_server)
    collection = tenant_collection(client, "default", "default")
    async with asyncio.timeout(20):
        while not (await asyncio.to_thread(collection.get, ids=[first.id]))["ids"]:  # noqa: ASYNC110 - written by a planner's writer, polled
            await asyncio.sleep(0.05)
    partitions: set[int] = set()
    asked = 0
    async with asyncio.timeout(60):
        while partitions != {0, 1}:  # until each instance has served one
            completion = await ask(gateway_url, PARAPHRASES[asked % len(PARAPHRASES)])
            asked += 1
            assert completion.choices[0].message.content == ANSWER
            plan, partition = await plan_partition(
                kafka_url, completion.id.removeprefix("chatcmpl-")
            )
            assert plan["planned_by"] == "semantic_cache" and plan["distance"] < 0.15
            partitions.add(partition)
    assert len(scripted.calls) == 1  # every paraphrase came from the shared cache

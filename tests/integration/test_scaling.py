"""Scaling by starting another copy: a second expert worker in the same consumer group
takes over part of moe.tasks.expert, and the pipeline keeps answering."""

from __future__ import annotations

import asyncio

from bench.scripted_llm import ScriptedModel
from contracts import new_id
from contracts.topics import RESULTS
from services.experts.app import create_app as create_experts
from tests.integration.conftest import expert_settings
from tests.support.gateway import gateway_client
from tests.support.topics import read_topic


async def test_a_second_expert_instance_shares_the_tasks(
    kafka_url: str,
    gateway_url: str,
    scripted: ScriptedModel,
    scripted_server: tuple[ScriptedModel, str],
) -> None:
    _, model_url = scripted_server
    client = gateway_client(gateway_url)
    second = create_experts(expert_settings(kafka_url, model_url))
    async with second:
        subscriber = next(iter(second.broker.subscribers))
        async with asyncio.timeout(30):  # the group rebalances to give it a partition
            while not subscriber.consumer or not subscriber.consumer.assignment():  # noqa: ASYNC110
                await asyncio.sleep(0.1)
        # Request ids hash to partitions: 16 requests all on one of 2 partitions is a
        # 1-in-32768 chance.
        completions = await asyncio.gather(
            *(
                client.chat.completions.create(
                    model="moe-orchestrator",
                    messages=[{"role": "user", "content": f"share the load ({new_id()})"}],
                )
                for _ in range(16)
            )
        )
    assert all(c.choices[0].message.content == "Hello from the model." for c in completions)
    results = await asyncio.gather(
        *(read_topic(kafka_url, RESULTS, c.id.removeprefix("chatcmpl-"), 1) for c in completions)
    )
    workers = {result["worker_id"] for [(result, _)] in results}
    assert len(workers) == 2, workers

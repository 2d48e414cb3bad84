"""Nothing published while the stack is still starting is lost: a consumer group that
joins for the first time starts from the earliest offset. Own broker, so the topics hold
only this test's events."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from contracts import ChatMessage, RequestReceived, new_id
from contracts.topics import PLANS, REQUESTS, task_topic
from services.planner.app import create_app as create_planner
from services.planner.settings import PlannerSettings
from tests.support.broker import running_broker
from tests.support.topics import publish_events, read_topic


@pytest.fixture
async def fresh_broker(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    async with running_broker(tmp_path_factory.mktemp("late-start")) as url:
        yield url


def ask(deadline_at: float) -> RequestReceived:
    question = [ChatMessage(role="user", content="asked before the planner was up")]
    return RequestReceived(
        request_id=new_id("early-"),
        model="moe-orchestrator",
        messages=question,
        deadline_at=deadline_at,
    )


async def test_requests_published_before_the_planner_started_are_planned(
    fresh_broker: str,
) -> None:
    waiting, expired = ask(time.time() + 60), ask(time.time() - 1)
    await publish_events(fresh_broker, [(expired, REQUESTS), (waiting, REQUESTS)])
    planner = create_planner(PlannerSettings(kafka_url=fresh_broker, tools_url=""))
    async with planner:
        [(plan, _)] = await read_topic(fresh_broker, PLANS, waiting.request_id, 1)
        [(task, _)] = await read_topic(fresh_broker, task_topic("expert"), waiting.request_id, 1)
    assert plan["kind"] == "plan.created" and task["task"]["task"] == waiting.messages[0].content
    # The expired one was dropped: its client already had its 504.
    with pytest.raises(TimeoutError):
        await read_topic(fresh_broker, PLANS, expired.request_id, 1, timeout_s=2)

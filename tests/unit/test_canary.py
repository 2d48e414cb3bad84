"""Every stage answers /health's canary on its own input topic with a CanaryPong on
moe.replies, and does nothing else: no plan, no task, no model or tool call, no result,
no answer, no cache entry."""

from collections.abc import Callable

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker

from contracts import CanaryPing, CanaryPong, new_id
from contracts.canary import CANARY_STAGES, REQUIRED_STAGES
from contracts.inference import InferenceServer
from contracts.topics import ANSWERS, PLANS, REPLIES, RESULTS, task_topic
from contracts.wire import make_broker
from services.experts.app import create_app as create_experts
from services.experts.settings import ExpertSettings
from services.merger.app import create_app as create_merger
from services.merger.settings import MergerSettings
from services.planner.app import create_app as create_planner
from services.planner.settings import PlannerSettings
from services.tools.handlers import build_broker as build_tools_broker
from services.tools.pool import WorkerPool
from services.tools.runner import ToolRunner
from services.tools.settings import ToolsSettings
from tests.unit.conftest import capture

# Nothing listens here: a model call would end in an error TaskResult, which the tests
# would see on moe.results.
NO_MODEL = [InferenceServer(name="local", url="http://127.0.0.1:9/v1", timeout=1)]


def planner() -> KafkaBroker:
    broker = make_broker("unused:9092", "planner")
    create_planner(PlannerSettings(tools_url="", worker_id="planner-1"), broker)
    return broker


def experts() -> KafkaBroker:
    broker = make_broker("unused:9092", "experts")
    create_experts(ExpertSettings(inference_servers=NO_MODEL), broker)
    return broker


def merger() -> KafkaBroker:
    broker = make_broker("unused:9092", "merger")
    create_merger(MergerSettings(inference_servers=NO_MODEL, worker_id="merger-1"), broker)
    return broker


def tools() -> KafkaBroker:
    # The pool is never started: a tool run would fail, and show up on moe.results.
    runner = ToolRunner(WorkerPool(size=1, memory_mb=0), timeout=1.0)
    return build_tools_broker(ToolsSettings(kafka_url="unused:9092"), runner, research=None)


STAGES: dict[str, Callable[[], KafkaBroker]] = {
    "planner": planner,
    "experts": experts,
    "tools": tools,
    "merger": merger,
}
# Whatever a stage could produce besides its pong.
WORK_TOPICS = [PLANS, RESULTS, ANSWERS, task_topic("expert"), task_topic("tool")]


def test_every_required_stage_is_checked() -> None:
    assert set(STAGES) == set(REQUIRED_STAGES)


@pytest.mark.parametrize("stage", sorted(STAGES))
async def test_stage_answers_its_canary_and_does_nothing_else(stage: str) -> None:
    broker = STAGES[stage]()
    seen = capture(broker, [REPLIES, *(t for t in WORK_TOPICS if t != CANARY_STAGES[stage])])
    ping = CanaryPing(request_id=new_id("canary-"), stage=stage)
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(ping.model_dump(mode="json"), CANARY_STAGES[stage])
        [pong] = await seen.wait_for(REPLIES)
    assert isinstance(pong, CanaryPong)
    assert (pong.request_id, pong.stage, pong.service) == (ping.request_id, stage, stage)
    assert pong.worker_id
    assert {topic: events for topic, events in seen.events.items() if events} == {REPLIES: [pong]}

"""Kafka side of the service: tool tasks (and research tasks when research is on) in,
TaskResults out. Handlers are registered by `build_broker`, never at import time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaRouter

from contracts.canary import answer_canary
from contracts.events import CanaryPing, TaskAssigned, TaskInput, TaskResult
from contracts.topics import RESULTS, WorkerKind, task_topic
from contracts.wire import FETCH_MAX_WAIT_MS, make_broker, publish_event
from services.tools.research import Research
from services.tools.runner import ToolRunner
from services.tools.settings import ToolsSettings
from services.tools.switches import build_switch_router


class TaskRunner(Protocol):
    async def run_task(self, event: TaskAssigned, worker_id: str) -> TaskResult: ...


SERVICE = "tools"
TOOL_GROUP = "moe-tools"
RESEARCH_GROUP = "moe-research"


def build_router(
    broker: KafkaBroker, runner: ToolRunner, research: Research | None, worker_id: str
) -> KafkaRouter:
    router = KafkaRouter()
    workers: list[tuple[WorkerKind, str, TaskRunner]] = [("tool", TOOL_GROUP, runner)]
    if research is not None:
        workers.append(("research", RESEARCH_GROUP, research))

    def answer_with(worker: TaskRunner) -> Callable[[TaskInput], Awaitable[None]]:
        async def on_task(event: TaskInput) -> None:
            if isinstance(event, CanaryPing):  # /health's probe: answered, no tool run
                await answer_canary(broker, event, SERVICE, worker_id)
                return
            result = await worker.run_task(event, worker_id)
            await publish_event(broker, result, RESULTS)

        return on_task

    for kind, group, worker in workers:
        # ACK after the handler: a task whose result was never published is redelivered
        # to another member of the group; a task that fails is answered with an error
        # TaskResult and an undecodable event goes to moe.dlq via the middleware, so
        # neither blocks. A new consumer group starts from the earliest offset: tasks
        # published before the first worker joined are still answered (stale ones with a
        # deadline error).
        router.subscriber(
            task_topic(kind),
            group_id=group,
            ack_policy=AckPolicy.ACK,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        )(answer_with(worker))

    return router


def build_broker(
    settings: ToolsSettings, runner: ToolRunner, research: Research | None
) -> KafkaBroker:
    broker = make_broker(settings.kafka_url, SERVICE)
    broker.include_router(build_router(broker, runner, research, settings.worker_id))
    broker.include_router(build_switch_router(runner.switches))
    return broker

"""Expert workers: consume moe.tasks.expert, answer with an LLM, emit TaskResult."""

from __future__ import annotations

import time

from faststream import FastStream
from faststream.kafka import KafkaBroker, KafkaRouter
from faststream.kafka.annotations import KafkaBroker as ContextBroker
from faststream.middlewares import AckPolicy

from contracts import ReplyChunk, TaskAssigned, TaskResult, new_id
from contracts.topics import REPLIES, RESULTS, task_topic
from contracts.wire import FETCH_MAX_WAIT_MS, make_broker, publish_event
from services.experts.answer import stream_answer
from services.experts.models import ModelPool
from services.experts.settings import ExpertSettings


def expired(task: TaskAssigned) -> TaskResult:
    return TaskResult(
        request_id=task.request_id,
        tenant=task.tenant,
        task_id=task.task.id,
        category=task.task.category,
        error="deadline passed before the task was started",
    )


def create_router(settings: ExpertSettings, pool: ModelPool, worker_id: str) -> KafkaRouter:
    router = KafkaRouter()

    # ACK_FIRST with several workers: answers take seconds, so tasks run concurrently.
    # A worker dying mid-answer loses that task; the gateway's deadline reports it.
    @router.subscriber(
        task_topic("expert"),
        group_id=settings.group_id,
        max_workers=settings.concurrency,
        ack_policy=AckPolicy.ACK_FIRST,
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
    )
    async def on_task(task: TaskAssigned, broker: ContextBroker) -> None:
        if task.deadline_at is not None and task.deadline_at < time.time():
            await publish_event(broker, expired(task), RESULTS)
            return

        async def publish_chunk(chunk: ReplyChunk) -> None:
            await publish_event(broker, chunk, REPLIES)

        binding = pool.bind(task.task.category)
        result = await stream_answer(binding, task, publish_chunk, worker_id)
        await publish_event(broker, result, RESULTS)

    return router


def create_app(settings: ExpertSettings, broker: KafkaBroker | None = None) -> FastStream:
    broker = broker or make_broker(settings.kafka_url, "experts")
    pool = ModelPool(settings)
    broker.include_router(create_router(settings, pool, new_id("expert-")))
    app = FastStream(broker)
    app.after_shutdown(pool.aclose)
    return app

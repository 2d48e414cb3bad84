"""Expert workers: consume moe.tasks.expert, answer with an LLM, emit TaskResult."""

from __future__ import annotations

import time

from aiokafka.structs import ConsumerRecord
from faststream import FastStream
from faststream.kafka import KafkaBroker, KafkaRouter
from faststream.middlewares import AckPolicy

from contracts import CanaryPing, FeedbackGiven, ReplyChunk, TaskAssigned, TaskResult, new_id
from contracts.canary import answer_canary
from contracts.current_message import current_message
from contracts.events import TaskInput
from contracts.liveness import Heartbeat
from contracts.topics import FEEDBACK, REPLIES, RESULTS, task_topic
from contracts.view_catch_up import ViewCatchUp
from contracts.wire import (
    FETCH_MAX_WAIT_MS,
    Unconfirmed,
    dead_letter,
    make_broker,
    publish_event,
)
from services.experts.answering import Answering
from services.experts.models import ModelPool
from services.experts.panel import answer_task
from services.experts.scores import ScoreBook
from services.experts.settings import ExpertSettings

SERVICE = "experts"


def expired(task: TaskAssigned) -> TaskResult:
    return TaskResult.answering(task, error="deadline passed before the task was started")


def create_router(
    settings: ExpertSettings,
    broker: KafkaBroker,
    pool: ModelPool,
    worker_id: str,
    scores: ScoreBook,
    replay: ViewCatchUp,
    answering: Answering,
) -> KafkaRouter:
    # Handlers use `broker` from this closure: resolving it from FastStream's Context
    # costs a thread-pool round trip per message.
    router = KafkaRouter()

    # ACK_FIRST, and answers run off the handler, up to `concurrency` at once
    # (services.experts.answering): they take seconds. A worker dying mid-answer loses
    # that task; the gateway's deadline reports it.
    @router.subscriber(
        task_topic("expert"),
        group_id=settings.group_id,
        # A new group starts from the earliest offset: tasks published before the first
        # worker joined are answered (stale ones with a deadline error), not lost.
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.ACK_FIRST,
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
    )
    async def on_task(task: TaskInput) -> None:
        if isinstance(task, CanaryPing):  # /health's probe: answered without a model call
            await answer_canary(broker, task, SERVICE, worker_id)
            return
        if task.deadline_at is not None and task.deadline_at < time.time():
            await publish_event(broker, expired(task), RESULTS)
            return
        message = current_message()

        async def dead_lettered(exc: BaseException) -> None:
            await dead_letter(broker, SERVICE, message, exc)

        await answering.start(lambda: answer(task), dead_lettered)

    async def answer(task: TaskAssigned) -> None:
        chunks = Unconfirmed(broker)

        async def publish_chunk(chunk: ReplyChunk) -> None:
            await chunks.send(chunk, REPLIES)

        async def publish_result(result: TaskResult) -> None:
            # The streamed chunks reach the broker before the result that ends them.
            undelivered = await chunks.confirm()
            if undelivered is not None and result.error is None:
                result = result.model_copy(update={"error": undelivered})
            await publish_event(broker, result, RESULTS)

        candidates = pool.candidates(task.task.category)
        if settings.scores:
            await replay.wait()  # right after a restart: until the scores are rebuilt
            candidates = scores.rank(candidates)
        await answer_task(
            candidates,
            task,
            publish_chunk,
            publish_result,
            worker_id,
            settings.max_output_chars,
            settle=chunks.settle,
        )

    if settings.scores:
        # No consumer group: every instance reads every rating from the beginning, so
        # each holds the whole view and a restart rebuilds it.
        @router.subscriber(
            FEEDBACK,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.ACK_FIRST,
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        )
        async def on_feedback(feedback: FeedbackGiven) -> None:
            scores.apply(feedback)
            record = current_message().raw_message
            if isinstance(record, ConsumerRecord):  # not a batch: this subscriber's kind
                replay.seen(record.topic, record.partition, record.offset)

    return router


def create_app(settings: ExpertSettings, broker: KafkaBroker | None = None) -> FastStream:
    broker = broker or make_broker(settings.kafka_url, SERVICE)
    pool = ModelPool(settings)
    worker_id = new_id("expert-")
    scores, replay = (
        ScoreBook(),
        ViewCatchUp(settings.kafka_url, [FEEDBACK], settings.scores_rebuild_wait_s, "scores"),
    )
    answering = Answering(settings.concurrency)
    broker.include_router(
        create_router(settings, broker, pool, worker_id, scores, replay, answering)
    )
    heartbeat = Heartbeat(
        broker,
        SERVICE,
        worker_id,
        [task_topic("expert")],
        capabilities=sorted(settings.expert_models),
        interval_s=settings.heartbeat_interval_s,
        liveness_file=settings.liveness_file,
    )
    app = FastStream(broker)
    if settings.scores:
        app.on_startup(replay.start)  # before the subscribers read: the ends as of now
    app.after_startup(heartbeat.start)
    app.on_shutdown(heartbeat.stop)
    # Before the broker stops: an answer in flight still publishes its result.
    app.on_shutdown(answering.drain)
    app.after_shutdown(pool.aclose)
    return app

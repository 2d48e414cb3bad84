"""The service's Kafka consumers: graph tasks (group `moe-graph`) and learning from
answers and feedback (group `moe-ingest`), as one router."""

from __future__ import annotations

from typing import Annotated

import structlog
from faststream.kafka import KafkaBroker, KafkaRouter
from faststream.middlewares import AckPolicy
from pydantic import Field

from contracts import AnswerCommitted, CanaryPing, FeedbackGiven
from contracts.canary import answer_canary
from contracts.current_message import current_message
from contracts.events import TaskInput
from contracts.topics import ANSWERS, FEEDBACK, RESULTS, task_topic
from contracts.wire import FETCH_MAX_WAIT_MS, publish_event
from services.ingest.graph import GraphUnavailable
from services.ingest.knowledge import Knowledge
from services.ingest.settings import IngestSettings

log = structlog.get_logger()
SERVICE = "ingest"
LearningInput = Annotated[AnswerCommitted | FeedbackGiven, Field(discriminator="kind")]


def create_router(
    settings: IngestSettings, broker: KafkaBroker, knowledge: Knowledge
) -> KafkaRouter:
    router = KafkaRouter()

    # ACK (committed after the result is published): the merger waits for every task of
    # a plan, so a task lost with a crashed instance would cost its request a 504; read
    # again by another instance it costs a few milliseconds. Graph tasks are few (only
    # questions naming known terms), so a commit per task is cheap.
    @router.subscriber(
        task_topic("graph"),
        group_id=settings.graph_group_id,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.ACK,
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
    )
    async def on_graph_task(task: TaskInput) -> None:
        if isinstance(task, CanaryPing):  # /health's probe: answered, no graph query
            await answer_canary(broker, task, SERVICE, settings.worker_id)
            return
        await publish_event(broker, await knowledge.context(task), RESULTS)

    # MANUAL: an answer is acknowledged only once what it taught is stored. While the
    # graph is down the event is handed back (nack: read again), so nothing is lost;
    # the answer itself is long delivered.
    @router.subscriber(
        ANSWERS,
        FEEDBACK,
        group_id=settings.ingest_group_id,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.MANUAL,
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
    )
    async def on_learning(event: LearningInput) -> None:
        message = current_message()
        try:
            if isinstance(event, FeedbackGiven):
                await knowledge.feedback(event)
            else:
                extracted = await knowledge.extract(event)
                if extracted is not None and extracted.triples:
                    await knowledge.learn(event, extracted)
        except GraphUnavailable as exc:  # any other failure is dead-lettered
            log.warning("learning_deferred", request_id=event.request_id, error=str(exc))
            await message.nack()
            return
        await message.ack()

    return router

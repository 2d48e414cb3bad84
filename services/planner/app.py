"""The planner: consumes moe.requests, emits the plan to moe.plans and one TaskAssigned
per sub-task to its worker's moe.tasks.<kind> topic."""

from __future__ import annotations

import asyncio

from faststream import FastStream
from faststream.kafka import KafkaBroker, KafkaRouter
from faststream.middlewares import AckPolicy

from contracts import RequestReceived
from contracts.topics import PLANS, REQUESTS, task_topic
from contracts.wire import FETCH_MAX_WAIT_MS, make_broker, publish_event
from services.planner.plan import plan_request
from services.planner.settings import PlannerSettings
from services.planner.tool_catalog import ToolCatalog


def create_router(
    settings: PlannerSettings, broker: KafkaBroker, catalog: ToolCatalog
) -> KafkaRouter:
    # Handlers use `broker` from this closure: resolving it from FastStream's Context
    # costs a thread-pool round trip per message.
    router = KafkaRouter()

    @router.subscriber(
        REQUESTS,
        group_id=settings.group_id,
        ack_policy=AckPolicy.ACK,
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
    )
    async def on_request(request: RequestReceived) -> None:
        plan, tasks = plan_request(request, catalog)
        # Concurrently: the merger's fan-in accepts a plan and its results in any order.
        await asyncio.gather(
            publish_event(broker, plan, PLANS),
            *(publish_event(broker, task, task_topic(task.task.worker)) for task in tasks),
        )

    return router


def create_app(
    settings: PlannerSettings, broker: KafkaBroker | None = None, catalog: ToolCatalog | None = None
) -> FastStream:
    broker = broker or make_broker(settings.kafka_url, "planner")
    catalog = catalog or ToolCatalog(settings.tools_url)
    broker.include_router(create_router(settings, broker, catalog))
    app = FastStream(broker)
    app.on_startup(catalog.start)
    app.after_shutdown(catalog.stop)
    return app

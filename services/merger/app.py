"""The merger: fan-in over moe.plans + moe.results, then the reply's end (or the whole
reply, for plans that did not stream) to moe.replies and the answer to moe.answers."""

from __future__ import annotations

from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from faststream import FastStream
from faststream.kafka import KafkaBroker, KafkaRouter
from faststream.middlewares import AckPolicy

from contracts.canary import answer_canary
from contracts.events import CanaryPing, MergerInput, PlanCreated
from contracts.liveness import Heartbeat
from contracts.topics import PLANS, RESULTS, task_topic
from contracts.wire import FETCH_MAX_WAIT_MS, make_broker, publish_event
from services.merger.fan_in import FanIn
from services.merger.merge import merge, needs_synthesis
from services.merger.replies import publish_outcome
from services.merger.research_fallback import follow_up, needs_research
from services.merger.settings import MergerSettings
from services.merger.synthesis import Judge, Syntheses

SERVICE = "merger"


def create_router(
    settings: MergerSettings,
    broker: KafkaBroker,
    fan_in: FanIn,
    judge: Judge | None,
    syntheses: Syntheses,
) -> KafkaRouter:
    # Handlers use `broker` from this closure: resolving it from FastStream's Context
    # costs a thread-pool round trip per message.
    router = KafkaRouter()

    # The range assignor gives each member the same partition numbers of both topics;
    # with round-robin a plan and its results could land on different instances.
    # ACK_FIRST (offsets committed in the background): gatherings live in this
    # instance's memory, so a crash loses them whether or not each event's offset was
    # committed after it; committing per event only cost a broker round trip per event.
    @router.subscriber(
        PLANS,
        RESULTS,
        group_id=settings.group_id,
        # A new group starts from the earliest offset, so a plan or result published
        # before the first merger joined is still gathered.
        auto_offset_reset="earliest",
        partition_assignment_strategy=(RangePartitionAssignor,),
        ack_policy=AckPolicy.ACK_FIRST,
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
    )
    async def on_event(event: MergerInput) -> None:
        if isinstance(event, CanaryPing):  # /health's probe: answered, nothing gathered
            await answer_canary(broker, event, SERVICE, settings.worker_id)
            return
        if isinstance(event, PlanCreated) and event.cache_hit is not None:
            return  # the planner answered it from the cache: nothing to gather
        gathered = fan_in.add(event)
        if gathered is None:
            return
        plan, results = gathered
        if settings.research_fallback and needs_research(plan, results):
            extended, task = follow_up(plan)
            fan_in.reopen(extended, results)
            await publish_event(broker, task, task_topic("research"))
            return
        if judge is not None and needs_synthesis(plan, results):
            # A judge streams for seconds; this handler must keep gathering (and closing
            # streamed answers) meanwhile. The synthesis runs as a tracked task, not in
            # the handler: `max_workers` would still stall every request once its
            # workers were all judging.
            syntheses.start(broker, judge, plan, results)
            return
        await publish_outcome(broker, merge(plan, results))

    return router


def create_app(settings: MergerSettings, broker: KafkaBroker | None = None) -> FastStream:
    broker = broker or make_broker(settings.kafka_url, SERVICE)
    judge = Judge(settings) if settings.synthesis else None
    syntheses = Syntheses(settings.max_syntheses)
    fan_in = FanIn(settings.orphan_ttl_s)
    broker.include_router(create_router(settings, broker, fan_in, judge, syntheses))
    heartbeat = Heartbeat(
        broker,
        SERVICE,
        settings.worker_id,
        [PLANS, RESULTS],
        interval_s=settings.heartbeat_interval_s,
        liveness_file=settings.liveness_file,
    )
    app = FastStream(broker)
    app.after_startup(heartbeat.start)
    app.on_shutdown(heartbeat.stop)
    # Before the broker stops: a synthesis in flight still publishes its reply.
    app.on_shutdown(syntheses.drain)
    if judge is not None:
        app.after_shutdown(judge.aclose)
    return app

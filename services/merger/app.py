"""The merger: fan-in over moe.plans + moe.results, then the reply's end (or the whole
reply, for plans that did not stream) to moe.replies and the answer to moe.answers."""

from __future__ import annotations

import structlog
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from faststream import FastStream
from faststream.kafka import KafkaBroker, KafkaRouter
from faststream.middlewares import AckPolicy

from contracts.canary import answer_canary
from contracts.events import CanaryPing, MergerInput, PlanCreated, TaskResult
from contracts.expert_report import REVIEWED_CATEGORIES
from contracts.liveness import Heartbeat
from contracts.topics import PLANS, REPLIES, RESULTS, task_topic
from contracts.wire import FETCH_MAX_WAIT_MS, Unconfirmed, make_broker, publish_event
from services.merger.fan_in import FanIn, Gathering
from services.merger.merge import (
    chosen,
    merge,
    needs_synthesis,
    only_tools,
    sources,
    streamed_result,
)
from services.merger.progress import plan_line, reasoning_chunk, result_line, shows_progress
from services.merger.replies import publish_outcome
from services.merger.research_fallback import follow_up, needs_research
from services.merger.settings import MergerSettings
from services.merger.synthesis import Job, Judge, Syntheses

SERVICE = "merger"
log = structlog.get_logger()


def judge_job(settings: MergerSettings, gathering: Gathering) -> Job | None:
    """What the judge must do for a complete request; None: nothing (pass through)."""
    plan = gathering.plan
    assert plan is not None
    results = chosen(plan, gathering.results)
    if streamed_result(plan, results) is not None or not sources(plan, results):
        return None
    if only_tools(plan, results):  # a tool's exact value is never rewritten by a model
        return None
    several = len(plan.tasks) > 1
    think = settings.thinking and (several or any(r.confidence == "low" for r in results))
    categories = {r.category for r in results} | {t.category for t in plan.tasks}
    review = settings.critic and bool(categories & REVIEWED_CATEGORIES)
    write = needs_synthesis(plan, results) or think
    if not (write or review):
        return None
    return Job(
        plan,
        results,
        gathering.results,
        gathering.sent,
        think=think,
        write=write,
        review=review,
        progress=settings.progress,
    )


def progress_lines(event: PlanCreated | TaskResult, gathering: Gathering) -> list[str]:
    """The lines an event adds to the thinking panel: the plan (with the results that
    came before it), or one result."""
    if not shows_progress(gathering.plan):
        return []
    if isinstance(event, PlanCreated):
        return [plan_line(event), *map(result_line, gathering.results)]
    return [result_line(event)]


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
        gathering = gathered or fan_in.gathering(event.request_id)
        if settings.progress and gathering is not None:
            await send_progress(event, gathering)
        if gathered is None or gathered.plan is None:
            return
        if gathered.outbox is not None and (lost := await gathered.outbox.confirm()):
            log.warning("progress_not_delivered", request_id=event.request_id, error=lost)
        plan, trail = gathered.plan, gathered.results
        results = chosen(plan, trail)
        if settings.research_fallback and needs_research(plan, results):
            extended, task = follow_up(plan)
            fan_in.reopen(extended, trail, gathered.sent)
            await publish_event(broker, task, task_topic("research"))
            return
        job = judge_job(settings, gathered) if judge is not None else None
        if judge is not None and job is not None:
            # A judge streams for seconds; this handler must keep gathering (and closing
            # streamed answers) meanwhile. The synthesis runs as a tracked task, not in
            # the handler: `max_workers` would still stall every request once its
            # workers were all judging.
            syntheses.start(broker, judge, job)
            return
        await publish_outcome(broker, merge(plan, results, trail, gathered.sent))

    async def send_progress(event: PlanCreated | TaskResult, gathering: Gathering) -> None:
        lines = progress_lines(event, gathering)
        if not lines or gathering.plan is None:
            return
        # In order on the request's partition, unconfirmed (a broker round trip per
        # line would hold up every request this handler gathers); confirmed before the
        # request's reply goes on.
        gathering.outbox = gathering.outbox or Unconfirmed(broker)
        for line in lines:
            chunk = reasoning_chunk(gathering.plan, gathering.sent, line)
            await gathering.outbox.send(chunk, REPLIES)
            gathering.sent += 1

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

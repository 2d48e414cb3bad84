"""The planner: consumes moe.requests; answers a repeated question from the cache, else
emits the plan to moe.plans and one TaskAssigned per sub-task to its worker's
moe.tasks.<kind> topic. It also keeps the cache: a view of moe.answers and moe.feedback."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

import structlog
from aiokafka.structs import ConsumerRecord
from faststream import FastStream
from faststream.kafka import KafkaBroker, KafkaRouter
from faststream.middlewares import AckPolicy
from pydantic import Field, TypeAdapter, ValidationError

from contracts import (
    AnswerCommitted,
    CanaryPing,
    FeedbackGiven,
    PlanCreated,
    RequestReceived,
)
from contracts.canary import answer_canary
from contracts.current_message import current_message
from contracts.events import ReplyEvent, ToolSwitched
from contracts.inference import find_server
from contracts.liveness import Heartbeat
from contracts.topics import ANSWERS, FEEDBACK, PLANS, REPLIES, REQUESTS, TOOL_SWITCHES
from contracts.view_catch_up import ViewCatchUp
from contracts.wire import FETCH_MAX_WAIT_MS, make_broker
from services.planner import precision
from services.planner.answer_cache import AnswerCache, semantic_scope
from services.planner.embeddings import LocalEmbedder, RemoteEmbedder
from services.planner.graph_terms import GraphTermsView, attach_graph_terms
from services.planner.llm_planner import LlmPlanner
from services.planner.planner import Planner
from services.planner.router import SemanticRouter
from services.planner.semantic_cache import SemanticCache
from services.planner.settings import PlannerSettings
from services.planner.tool_catalog import ToolCatalog

log = structlog.get_logger()
CacheInput = Annotated[AnswerCommitted | FeedbackGiven, Field(discriminator="kind")]
PlannerInput = Annotated[RequestReceived | CanaryPing, Field(discriminator="kind")]
REPLY_ADAPTER: TypeAdapter[ReplyEvent] = TypeAdapter(ReplyEvent)
PlanView = Annotated[PlanCreated | CanaryPing, Field(discriminator="kind")]
SERVICE = "planner"
REPLIES_BATCH_BYTES = 64 * 1024
REPLIES_BATCH_WAIT_MS = 200


def create_router(
    settings: PlannerSettings,
    broker: KafkaBroker,
    planner: Planner,
    rebuild: ViewCatchUp,
    semantic: SemanticCache | None = None,
    catalog: ToolCatalog | None = None,
) -> KafkaRouter:
    # Handlers use `broker` from this closure: resolving it from FastStream's Context
    # costs a thread-pool round trip per message.
    router = KafkaRouter()
    if planner.graph_terms is not None:
        attach_graph_terms(router, planner.graph_terms)

    # ACK_FIRST (offsets committed in the background): planning takes about a
    # millisecond, so committing each offset after its handler (ACK) bought redelivery
    # for that sliver of time at the price of a broker round trip per request. A planner
    # killed mid-plan loses that one request; its client gets a 504 at the deadline.
    # A new group starts from the earliest offset: requests published while the stack
    # was still starting are planned, not lost (expired ones are dropped below).
    @router.subscriber(
        REQUESTS,
        group_id=settings.group_id,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.ACK_FIRST,
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
    )
    async def on_request(request: PlannerInput) -> None:
        if isinstance(request, CanaryPing):  # /health's probe: answered, nothing planned
            await answer_canary(broker, request, SERVICE, settings.worker_id)
            return
        if request.deadline_at is not None and request.deadline_at < time.time():
            log.info("request_expired", request_id=request.request_id)
            return  # its client has had its 504 already; nobody waits for an answer
        await planner.handle(request)

    if settings.cache_enabled:
        # No consumer group: every instance reads every partition from the beginning,
        # so each holds the whole view and a restart rebuilds it.
        @router.subscriber(
            ANSWERS,
            FEEDBACK,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.ACK_FIRST,
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        )
        async def on_answer_or_feedback(event: CacheInput) -> None:
            if isinstance(event, AnswerCommitted):
                planner.cache.remember(event)
                planner.in_flight.answered(event.request_id)
            else:
                planner.cache.apply(event)
            record = current_message().raw_message
            if isinstance(record, ConsumerRecord):  # not a batch: this subscriber's kind
                rebuild.seen(record.topic, record.partition, record.offset)

        # No consumer group, from the newest event: only the replies of this instance's
        # leaders matter (followers get copies: services.planner.relay), and only theirs
        # are decoded. In batches, the broker holding each fetch until REPLIES_BATCH_BYTES
        # are there or REPLIES_BATCH_WAIT_MS have passed: read one by one, every streamed
        # token woke the planner and cost it a fetch round trip (a fifth of its CPU under
        # load, for followers that are rare), while a follower's copies may come in bursts.
        @router.subscriber(
            REPLIES,
            auto_offset_reset="latest",
            ack_policy=AckPolicy.ACK_FIRST,
            batch=True,
            fetch_min_bytes=REPLIES_BATCH_BYTES,
            fetch_max_wait_ms=REPLIES_BATCH_WAIT_MS,
        )
        async def on_replies() -> None:  # bodies are decoded only for a leader's replies
            records = current_message().raw_message
            for record in records if isinstance(records, tuple | list) else (records,):
                if not isinstance(record, ConsumerRecord) or record.key is None:
                    continue
                leader = planner.in_flight.streaming(record.key.decode(errors="replace"))
                if leader is None:
                    continue
                try:
                    event = REPLY_ADAPTER.validate_json(record.value or b"{}")
                except ValidationError as exc:  # the gateway's consumer dead-letters it
                    log.warning("reply_unreadable", offset=record.offset, error=str(exc)[:300])
                    continue
                await planner.relay.leader_event(leader, event)

    if semantic is not None:
        # One consumer group: whichever instance reads an answer writes it, once.
        @router.subscriber(
            ANSWERS,
            FEEDBACK,
            group_id=f"{settings.group_id}-semantic-cache",
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.ACK,
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        )
        async def on_answer_for_semantic_cache(event: CacheInput) -> None:
            if isinstance(event, FeedbackGiven):
                await semantic.flag(event)
                return
            mode = semantic_scope(event.cache_key)
            if mode is not None and await semantic.store(event, mode, event.question):
                log.info("semantic_cache_stored", response_id=event.response_id)

    if catalog is not None:
        _attach_tool_switches(router, catalog)

    if planner.llm is not None:
        # No consumer group: every instance keeps every instance's planner-model plans.
        # From the newest: only the last 30 minutes of plans are reused anyway.
        @router.subscriber(
            PLANS,
            auto_offset_reset="latest",
            ack_policy=AckPolicy.ACK_FIRST,
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        )
        async def on_plan(event: PlanView) -> None:
            if isinstance(event, PlanCreated):
                planner.plans.remember(event)

    return router


def _attach_tool_switches(router: KafkaRouter, catalog: ToolCatalog) -> None:
    # No consumer group, from the beginning: the compacted topic holds the latest switch
    # per tool, so every instance learns the current ones, then each new one at once.
    @router.subscriber(
        TOOL_SWITCHES,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.ACK_FIRST,
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
    )
    async def on_tool_switch(event: ToolSwitched) -> None:
        catalog.switched(event.tool, event.enabled)
        log.info("tool_switched", tool=event.tool, enabled=event.enabled)


def make_embedder(settings: PlannerSettings) -> LocalEmbedder | RemoteEmbedder:
    if settings.embeddings_url:
        return RemoteEmbedder(settings.embeddings_url, settings.embeddings_model)
    # The model loads at start-up, and only if it is used.
    return LocalEmbedder(threads=settings.embedding_threads)


async def warm_up() -> None:
    """Precision routing's patterns and unit registry, loaded off the event loop."""
    await asyncio.to_thread(precision.warm_up)


def create_app(
    settings: PlannerSettings, broker: KafkaBroker | None = None, catalog: ToolCatalog | None = None
) -> FastStream:
    broker = broker or make_broker(settings.kafka_url, SERVICE)
    catalog = catalog or ToolCatalog(settings.tools_url)
    rebuild = ViewCatchUp(
        settings.kafka_url, [ANSWERS, FEEDBACK], settings.cache_rebuild_wait_s, "answer_cache"
    )
    cache = AnswerCache(settings.cache_max_entries, settings.cache_ttl_s)
    embedder = make_embedder(settings)
    semantic = None
    if settings.semantic_cache:
        semantic = SemanticCache(
            embedder,
            settings.cache_hit_threshold,
            settings.chroma_path,
            settings.chroma_host,
            settings.chroma_port,
        )
    router = None
    # Without the semantic cache or the LLM planner nothing else needs an embedding, and
    # picking a category alone is not worth one per request.
    if settings.router_enabled and (settings.semantic_cache or settings.llm_planner):
        router = SemanticRouter(
            embedder,
            settings.router_prototypes,
            settings.router_max_distance,
            settings.router_min_margin,
        )
    llm = None
    if settings.llm_planner:
        server = find_server(settings.inference_servers, settings.judge_endpoint)
        research = bool(settings.searxng_url.strip())
        llm = LlmPlanner(
            server,
            settings.judge_model,
            settings.categories,
            catalog,
            settings.llm_timeout_s,
            research,
        )
    graph_terms = GraphTermsView(settings.graph_terms_max_age_s) if settings.graph_enabled else None
    planner = Planner(
        settings, broker, catalog, cache, rebuild, embedder, semantic, router, llm, graph_terms
    )
    broker.include_router(create_router(settings, broker, planner, rebuild, semantic, catalog))
    heartbeat = Heartbeat(
        broker,
        SERVICE,
        settings.worker_id,
        [REQUESTS],
        interval_s=settings.heartbeat_interval_s,
        liveness_file=settings.liveness_file,
    )
    app = FastStream(broker)
    app.on_startup(catalog.start)
    app.on_startup(warm_up)
    if semantic is not None or router is not None:
        app.on_startup(embedder.start)
    if semantic is not None:
        app.on_startup(semantic.start)
    if router is not None:
        app.on_startup(router.start)
    app.after_shutdown(embedder.aclose)
    if llm is not None:
        app.after_shutdown(llm.aclose)
    if settings.cache_enabled:
        app.on_startup(rebuild.start)  # before the subscribers read: the ends as of now
    app.after_startup(heartbeat.start)
    app.on_shutdown(heartbeat.stop)
    app.on_shutdown(planner.stop)
    app.after_shutdown(catalog.stop)
    return app

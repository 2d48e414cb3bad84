"""The gateway: OpenAI-compatible HTTP in, RequestReceived out, moe.replies relayed back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiokafka.errors import KafkaError
from fastapi import FastAPI, Header
from fastapi.responses import JSONResponse, Response
from faststream.kafka import KafkaBroker

from contracts import ReplyError, RequestReceived, new_id, response_id_for
from contracts.lifecycle import freeze_startup_heap
from contracts.topics import FEEDBACK, REQUESTS
from contracts.wire import NotDelivered, make_broker, publish_event
from services.gateway.broker_watch import BrokerWatch
from services.gateway.connection import BrokerConnection
from services.gateway.errors import ApiError, install_error_handlers
from services.gateway.event_stream import EventStreamResponse
from services.gateway.feedback import (
    AnsweredView,
    FeedbackRequest,
    attach_answers_consumer,
    feedback_event,
)
from services.gateway.graph_proxy import GraphProxy, graph_router
from services.gateway.health import Canaries, HealthMonitor, health_response
from services.gateway.openai_models import ChatCompletionRequest
from services.gateway.relay import collect, stream_events, timeout_error
from services.gateway.replies import Overloaded, PendingReplies, ReplyStream, ReplyTimeout
from services.gateway.reply_consumer import ReplyReader, ReplySource, ReplySourceFactory
from services.gateway.settings import MODEL_MODES, GatewaySettings
from services.gateway.workers import WorkerView, attach_registry_consumer


def authenticate(settings: GatewaySettings, authorization: str | None) -> str:
    """The tenant of the caller. With no API keys configured, everyone is 'default'."""
    if not settings.api_keys:
        return "default"
    scheme, _, key = (authorization or "").partition(" ")
    tenant = settings.api_keys.get(key.strip()) if scheme.lower() == "bearer" else None
    if tenant is None:
        raise ApiError(401, "Invalid or missing API key.", code="invalid_api_key")
    return tenant


def reply_error(event: ReplyError) -> ApiError:
    return ApiError(event.status, event.message, code=event.code)


def unavailable(settings: GatewaySettings, message: str) -> ApiError:
    headers = {"Retry-After": str(settings.unavailable_retry_after_s)}
    return ApiError(503, message, code="service_unavailable", headers=headers)


def create_app(
    settings: GatewaySettings,
    broker: KafkaBroker | None = None,
    replies: ReplySourceFactory | None = None,
) -> FastAPI:
    """`replies` reads moe.replies into the waiting requests: a ReplyReader on the
    broker at `settings.kafka_url` unless given (the unit tests' in-memory broker)."""
    broker = broker or make_broker(settings.kafka_url, "gateway")
    pending, canaries, workers = PendingReplies(settings.max_in_flight), Canaries(), WorkerView()
    reader: ReplySource = (
        ReplyReader(settings.kafka_url, broker, pending, canaries)
        if replies is None
        else replies(pending, canaries)
    )
    attach_registry_consumer(broker, workers)
    answered = AnsweredView(settings.feedback_answers_kept)
    attach_answers_consumer(broker, answered)
    connection = BrokerConnection(broker, reader, settings.kafka_url)
    monitor = HealthMonitor(
        broker,
        settings.kafka_url,
        canaries,
        settings.health_stages,
        settings.health_canary_timeout_s,
        settings.health_max_age_s,
        settings.inference_servers,
    )

    graph = GraphProxy(settings.graph_url, settings.graph_timeout_s)
    broker_watch = BrokerWatch(
        broker, pending, settings.broker_check_s, settings.broker_lost_after_s
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await connection.start()
        freeze_startup_heap()
        watching = [asyncio.create_task(broker_watch.run(), name="broker-watch")]
        if settings.health_watch_interval_s > 0:
            watching.append(asyncio.create_task(monitor.watch(settings.health_watch_interval_s)))
        yield
        for task in watching:
            task.cancel()
        await asyncio.gather(*watching, return_exceptions=True)
        await connection.stop()
        await monitor.aclose()
        await graph.aclose()

    app = FastAPI(title="Sovereign MoE gateway", lifespan=lifespan)
    app.state.broker, app.state.pending = broker, pending
    install_error_handlers(app)
    app.include_router(graph_router(graph, lambda header: authenticate(settings, header)))

    @app.get("/health")
    async def health() -> JSONResponse:
        """200 when a request can be answered: the broker and every stage answer."""
        if not connection.ready:
            return health_response(None, connection.unavailable(), workers.summary(), pending)
        return health_response(await monitor.report(), None, workers.summary(), pending)

    @app.get("/health/live")
    async def live() -> dict[str, Any]:
        """The process serves HTTP; says nothing about the broker or the stages."""
        return {"status": "alive", "in_flight": len(pending)}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "moe"} for m in MODEL_MODES]
        return {"object": "list", "data": data}

    async def open_request(body: ChatCompletionRequest, tenant: str) -> ReplyStream:
        mode = MODEL_MODES.get(body.model)
        if mode is None:
            known = ", ".join(MODEL_MODES)
            raise ApiError(
                404,
                f"Model '{body.model}' not found (available: {known}).",
                code="model_not_found",
                param="model",
            )
        if not connection.ready:
            raise unavailable(settings, f"The request was not sent: {connection.unavailable()}.")
        request_id = new_id()
        try:
            stream = pending.open(request_id, settings.reply_timeout_s)
        except Overloaded as exc:
            headers = {"Retry-After": str(settings.retry_after_s)}
            raise ApiError(
                429, "Gateway is saturated, retry later.", code="overloaded", headers=headers
            ) from exc
        event = RequestReceived(
            request_id=request_id,
            tenant=tenant,
            messages=[m.to_contract() for m in body.messages],
            mode=mode,
            model=body.model,
            options=body.options(),
            deadline_at=time.time() + settings.reply_timeout_s,
        )
        try:
            await publish_event(broker, event, REQUESTS, settings.publish_timeout_s)
        except (KafkaError, NotDelivered) as exc:
            pending.close(request_id)
            if isinstance(exc, NotDelivered):
                why = f"no acknowledgement from the broker within {settings.publish_timeout_s:g} s"
            else:
                why = f"the broker refused it ({type(exc).__name__}: {exc})"
            message = f"Could not deliver the request to the planner ({REQUESTS}): {why}."
            raise unavailable(settings, message) from exc
        return stream

    @app.post("/v1/feedback")
    async def feedback(
        body: FeedbackRequest, authorization: str | None = Header(default=None)
    ) -> dict[str, Any]:
        """Rate an answer this caller's tenant was given; 404 for any other."""
        tenant = authenticate(settings, authorization)
        found = await answered.find(body.response_id, settings.feedback_lookup_wait_s)
        # Another tenant's answer is as unknown to this caller as one never given.
        if found is None or found.tenant != tenant:
            raise ApiError(
                404,
                f"No response '{body.response_id}' was given to this API key's tenant.",
                code="response_not_found",
                param="response_id",
            )
        if not connection.ready:
            raise unavailable(settings, f"The rating was not sent: {connection.unavailable()}.")
        event = feedback_event(body, found)
        try:
            await publish_event(broker, event, FEEDBACK, settings.publish_timeout_s)
        except (KafkaError, NotDelivered) as exc:
            raise unavailable(settings, f"Could not record the rating on {FEEDBACK}.") from exc
        return {
            "object": "feedback",
            "response_id": body.response_id,
            "rating": body.rating,
            "effect": {-1: "negative", 0: "neutral", 1: "positive"}[event.rating],
            "models": event.models,
        }

    @app.post("/v1/chat/completions", response_model=None)
    async def chat_completions(
        body: ChatCompletionRequest, authorization: str | None = Header(default=None)
    ) -> Response | dict[str, Any]:
        stream = await open_request(body, authenticate(settings, authorization))
        response_id = response_id_for(stream.request_id)
        try:
            first = await stream.next()
        except ReplyTimeout:
            first = timeout_error()
        except BaseException:  # cancelled while waiting: the slot must not leak
            pending.close(stream.request_id)
            raise
        if isinstance(first, ReplyError):
            pending.close(stream.request_id)
            raise reply_error(first)
        if body.stream:
            events = stream_events(stream, first, response_id, body.model, body.include_usage)
            return EventStreamResponse(
                _closing(events, pending, stream.request_id),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Request-Id": stream.request_id},
            )
        try:
            result = await collect(stream, first, response_id, body.model)
        finally:
            pending.close(stream.request_id)
        if isinstance(result, ReplyError):
            raise reply_error(result)
        return result

    return app


async def _closing(
    events: AsyncIterator[bytes], pending: PendingReplies, request_id: str
) -> AsyncIterator[bytes]:
    """Forget the request however the stream ends, client disconnect included."""
    try:
        async for data in events:
            yield data
    finally:
        pending.close(request_id)

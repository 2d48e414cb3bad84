"""One process, two interfaces: uvicorn serves the small HTTP API, and the app's lifespan
starts the graph driver, the Kafka consumers, the base-ontology keeper and the heartbeat,
and stops them in reverse order. The graph may be down at start: the service starts
anyway (graph tasks answer with an error result; learning waits) and loads the ontology
once the graph answers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker

from contracts.inference import find_server
from contracts.lifecycle import bounded
from contracts.liveness import Heartbeat
from contracts.topics import ANSWERS, FEEDBACK, task_topic
from contracts.wire import make_broker
from services.ingest.extraction import Extractor
from services.ingest.graph import GraphStore
from services.ingest.handlers import SERVICE, create_router
from services.ingest.http_api import build_http_router, error_response
from services.ingest.knowledge import Knowledge
from services.ingest.ontology import load_ontology
from services.ingest.settings import IngestSettings

log = structlog.get_logger()


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _extractor(settings: IngestSettings) -> Extractor | None:
    if not settings.extraction:
        return None
    # Fails at start-up, not on the first answer, when the endpoint is not configured.
    server = find_server(settings.inference_servers, settings.extraction_endpoint)
    return Extractor(
        server,
        settings.extraction_model,
        settings.extraction_max_chars,
        settings.extraction_max_tokens,
    )


def create_app(
    settings: IngestSettings | None = None, broker: KafkaBroker | None = None
) -> FastAPI:
    settings = settings or IngestSettings()
    ontology = load_ontology(settings.ontology_file)  # a broken data file fails here
    broker = broker or make_broker(settings.kafka_url, SERVICE)
    store = GraphStore(settings)
    extractor = _extractor(settings)
    knowledge = Knowledge(settings, store, ontology, broker, extractor)
    broker.include_router(create_router(settings, broker, knowledge))
    heartbeat = Heartbeat(
        broker,
        SERVICE,
        settings.worker_id,
        [task_topic("graph"), ANSWERS, FEEDBACK],
        capabilities=["graph"],
        interval_s=settings.heartbeat_interval_s,
        liveness_file=settings.liveness_file,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(store.close)
            if extractor is not None:
                stack.push_async_callback(extractor.aclose)
            await broker.start()
            # Bounded: a producer stopping while the broker is unreachable would wait out
            # its request timeout trying to flush.
            stack.push_async_callback(bounded, broker.stop, "ingest broker stop")
            # Kept on app.state: a task nobody references can be garbage-collected.
            app.state.keeper = asyncio.create_task(knowledge.keep_base(), name="ontology")
            stack.push_async_callback(_cancel, app.state.keeper)
            await heartbeat.start()
            stack.push_async_callback(heartbeat.stop)
            log.info("ingest_started", worker_id=settings.worker_id, graph=settings.bolt_url)
            yield

    app = FastAPI(title="moe ingest (knowledge graph)", version="1.0", lifespan=lifespan)
    app.state.settings, app.state.knowledge, app.state.broker = settings, knowledge, broker

    @app.exception_handler(RequestValidationError)
    async def on_invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        param = str(first["loc"][-1]) if first.get("loc") else None
        return error_response(400, f"Invalid {param}: {first.get('msg')}", "invalid_request", param)

    app.include_router(build_http_router(settings, store, knowledge))
    return app

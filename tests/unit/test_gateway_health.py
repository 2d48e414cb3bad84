"""The gateway's /health on the in-memory broker: fake stages answer (or not) the
canaries; the report names each stage, is shared by concurrent callers and reused while
young; a request the broker does not take is a 503 naming the planner."""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from contracts import CanaryPing, WorkerHeartbeat
from contracts.canary import CANARY_STAGES, REQUIRED_STAGES, answer_canary
from contracts.inference import InferenceServer
from contracts.topics import REGISTRY
from contracts.wire import make_broker, publish_event
from deploy.local import free_port
from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from tests.support.in_memory_replies import in_memory_replies
from tests.support.servers import serve


@dataclass
class FakeStages:
    """Answers each stage's canaries, except the stages in `silent`."""

    silent: set[str] = field(default_factory=set)
    pings: Counter[str] = field(default_factory=Counter)
    request_delay_s: float = 0.0


@dataclass
class Gateway:
    client: httpx.AsyncClient
    stages: FakeStages
    broker: KafkaBroker


@pytest.fixture
async def gateway(request: pytest.FixtureRequest) -> AsyncIterator[Gateway]:
    overrides: dict[str, Any] = getattr(request, "param", {})
    settings = GatewaySettings(
        **{"health_canary_timeout_s": 0.3, "health_watch_interval_s": 0, **overrides}
    )
    broker = make_broker("unused:9092", "gateway")
    app = create_app(settings, broker, in_memory_replies(broker))
    stages = FakeStages()

    def answering(stage: str) -> Any:
        async def on_event(event: dict[str, Any]) -> None:
            if event.get("kind") == "request.received":
                # The in-memory broker runs this inside the gateway's publish: a slow
                # handler is a broker that takes long to acknowledge.
                await asyncio.sleep(stages.request_delay_s)
                return
            ping = CanaryPing.model_validate(event)
            stages.pings[stage] += 1
            if stage not in stages.silent:
                await answer_canary(broker, ping, stage, f"{stage}-1")

        return on_event

    for stage in REQUIRED_STAGES:
        broker.subscriber(CANARY_STAGES[stage], group_id=f"fake-{stage}")(answering(stage))

    async with TestKafkaBroker(broker), app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            yield Gateway(client, stages, broker)


async def test_health_is_200_with_every_stage_and_its_latency(gateway: Gateway) -> None:
    client = gateway.client
    response = await client.get("/health")
    report = response.json()
    assert response.status_code == 200
    assert report["status"] == "ok" and report["broker"] == {"status": "ok"}
    assert list(report["stages"]) == ["replies", *REQUIRED_STAGES]
    for stage, result in report["stages"].items():
        assert result["status"] == "ok" and result["latency_ms"] >= 0
        assert result["topic"] == CANARY_STAGES.get(stage, "moe.replies")
    assert report["stages"]["experts"]["worker_id"] == "experts-1"
    assert "error" not in report and "failing" not in report


async def test_health_is_503_naming_the_stage_that_does_not_answer(gateway: Gateway) -> None:
    client, stages = gateway.client, gateway.stages
    stages.silent.add("merger")
    response = await client.get("/health")
    report = response.json()
    assert response.status_code == 503
    assert report["status"] == "unavailable" and report["failing"] == ["merger"]
    assert report["stages"]["merger"] == {
        "status": "no_answer",
        "topic": "moe.plans",
        "error": "no answer to its canary on moe.plans within 0.3 s",
    }
    assert report["error"]["type"] == "service_unavailable"
    assert report["error"]["message"] == (
        "A request cannot be answered now: merger: no answer to its canary on moe.plans "
        "within 0.3 s."
    )
    assert report["stages"]["planner"]["status"] == "ok"


@pytest.mark.parametrize("gateway", [{"health_max_age_s": 60}], indirect=True)
async def test_concurrent_calls_share_one_canary_and_a_young_report_is_reused(
    gateway: Gateway,
) -> None:
    client, stages = gateway.client, gateway.stages
    responses = await asyncio.gather(*(client.get("/health") for _ in range(5)))
    again = await client.get("/health")
    assert {r.status_code for r in [*responses, again]} == {200}
    assert stages.pings == Counter(dict.fromkeys(REQUIRED_STAGES, 1))
    assert len({r.json()["checked_at"] for r in [*responses, again]}) == 1


@pytest.mark.parametrize("gateway", [{"health_max_age_s": 0}], indirect=True)
async def test_a_report_past_its_age_is_checked_afresh(gateway: Gateway) -> None:
    client, stages = gateway.client, gateway.stages
    await client.get("/health")
    await client.get("/health")
    assert stages.pings == Counter(dict.fromkeys(REQUIRED_STAGES, 2))


async def test_health_shows_each_services_heartbeats(gateway: Gateway) -> None:
    client = gateway.client
    broker = gateway.broker
    for worker in ("planner-a", "planner-b", "merger-a"):
        beat = WorkerHeartbeat(
            request_id=worker, worker_id=worker, service=worker.split("-")[0], topics=[]
        )
        await publish_event(broker, beat, REGISTRY)
    workers = (await client.get("/health")).json()["workers"]
    assert list(workers) == ["merger", "planner"]
    assert workers["planner"]["workers"] == 2 and workers["merger"]["workers"] == 1
    assert 0 <= workers["planner"]["last_heartbeat_s"] < 5


async def test_health_live_says_only_that_the_process_serves(gateway: Gateway) -> None:
    client, stages = gateway.client, gateway.stages
    stages.silent.update(REQUIRED_STAGES)
    response = await client.get("/health/live")
    assert response.status_code == 200 and response.json()["status"] == "alive"
    assert not stages.pings


@pytest.mark.parametrize("gateway", [{"publish_timeout_s": 0.2}], indirect=True)
async def test_a_request_the_broker_does_not_take_is_a_quick_503_naming_the_planner(
    gateway: Gateway,
) -> None:
    client, stages = gateway.client, gateway.stages
    stages.request_delay_s = 5.0
    body = {"model": "moe-orchestrator", "messages": [{"role": "user", "content": "Hi?"}]}
    response = await asyncio.wait_for(client.post("/v1/chat/completions", json=body), 2.0)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json()["error"] == {
        "message": "Could not deliver the request to the planner (moe.requests): no "
        "acknowledgement from the broker within 0.2 s.",
        "type": "service_unavailable",
        "param": None,
        "code": "service_unavailable",
    }


def llama_server() -> Starlette:
    """What llama.cpp's llama-server says about its load: 1 of 4 slots busy, 2 queued."""
    metrics = "llamacpp:requests_processing 1\nllamacpp:requests_deferred 2\n"
    slots = [{"id": i, "is_processing": i == 0} for i in range(4)]
    return Starlette(
        routes=[
            Route("/metrics", lambda _: PlainTextResponse(metrics)),
            Route("/slots", lambda _: JSONResponse(slots)),
        ]
    )


async def test_health_shows_each_model_servers_load() -> None:
    async with serve(llama_server()) as model_url:
        settings = GatewaySettings(
            health_watch_interval_s=0,
            inference_servers=[
                InferenceServer(name="gpu1", url=f"{model_url}/v1"),
                InferenceServer(name="gone", url=f"http://127.0.0.1:{free_port()}/v1"),
            ],
        )
        broker = make_broker("unused:9092", "gateway")
        app = create_app(settings, broker, in_memory_replies(broker))
        async with TestKafkaBroker(broker), app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
                report = (await client.get("/health")).json()
    # Shown, not judged: the stages (none answer here) decide the status.
    assert report["model_servers"]["gpu1"] == {
        "source": "llama.cpp",
        "busy_slots": 1,
        "total_slots": 4,
        "queued": 2,
    }
    assert report["model_servers"]["gone"]["source"] == "unknown"
    assert "unreachable" in report["model_servers"]["gone"]["reason"]

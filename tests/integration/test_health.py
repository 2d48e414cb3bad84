"""GET /health on the real broker: every stage of the running pipeline answers its canary;
a stage no worker consumes is named; a gateway that cannot reach any broker still serves
HTTP and answers 503 with Retry-After at once."""

from __future__ import annotations

import time

import httpx

from contracts.canary import REQUIRED_STAGES
from deploy.local import free_port
from services.gateway.app import create_app as create_gateway
from services.gateway.settings import GatewaySettings
from tests.support.servers import serve

QUESTION = {"model": "moe-orchestrator", "messages": [{"role": "user", "content": "hi"}]}


async def test_every_stage_of_the_running_pipeline_answers(gateway_url: str) -> None:
    async with httpx.AsyncClient(base_url=gateway_url, timeout=15) as client:
        response = await client.get("/health")
    report = response.json()
    assert response.status_code == 200, report
    assert report["status"] == "ok" and report["broker"] == {"status": "ok"}
    assert set(report["stages"]) == {"replies", *REQUIRED_STAGES}
    for name, stage in report["stages"].items():
        assert stage["status"] == "ok", (name, stage)
        assert 0 <= stage["latency_ms"] < 3000
    assert report["stages"]["experts"]["service"] == "experts"


async def test_a_stage_that_no_worker_consumes_is_named(kafka_url: str, workers: None) -> None:
    # No research worker runs in this session (research is off without SEARXNG_URL).
    # The timeout is generous: on a loaded 2-core CI machine a live stage took over 1 s.
    settings = GatewaySettings(
        kafka_url=kafka_url,
        health_stages=[*REQUIRED_STAGES, "research"],
        health_canary_timeout_s=5.0,
        health_watch_interval_s=0,
    )
    async with (
        serve(create_gateway(settings)) as url,
        httpx.AsyncClient(base_url=url, timeout=15) as client,
    ):
        response = await client.get("/health")
    report = response.json()
    assert response.status_code == 503
    assert report["failing"] == ["research"]
    assert report["stages"]["research"] == {
        "status": "no_answer",
        "topic": "moe.tasks.research",
        "error": "no answer to its canary on moe.tasks.research within 5 s",
    }
    assert "research" in report["error"]["message"]
    assert all(report["stages"][stage]["status"] == "ok" for stage in REQUIRED_STAGES)


async def test_a_gateway_without_a_broker_serves_503_with_retry_after() -> None:
    nowhere = f"127.0.0.1:{free_port()}"  # nothing listens there
    settings = GatewaySettings(kafka_url=nowhere, health_watch_interval_s=0)
    async with (
        serve(create_gateway(settings)) as url,
        httpx.AsyncClient(base_url=url, timeout=15) as client,
    ):
        started = time.monotonic()
        response = await client.post("/v1/chat/completions", json=QUESTION)
        elapsed = time.monotonic() - started
        health = await client.get("/health")
        live = await client.get("/health/live")
    assert response.status_code == 503 and elapsed < 1.0
    assert response.headers["Retry-After"] == str(settings.unavailable_retry_after_s)
    error = response.json()["error"]
    assert error["type"] == "service_unavailable" and nowhere in error["message"]
    assert health.status_code == 503
    assert health.json()["broker"]["status"] == "unreachable"
    assert nowhere in health.json()["error"]["message"]
    assert live.status_code == 200

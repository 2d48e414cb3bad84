"""The stack when parts of it are gone, with every service a real process
(`python -m services.<name>`) on a broker of this module's own, which the tests stop:
/health names what cannot answer, a request that cannot be delivered gets a 503 with
Retry-After in seconds, and SIGTERM stops every service within a few seconds even with
the broker gone. The tests run in file order; each leaves the stack as the next expects."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from deploy.local import free_port, start_broker
from deploy.local.broker import KafkaNode
from deploy.local.component import Component
from tests.support.processes import ServiceProcess, spawn_service, wait_ready

# Every service must be gone this long after SIGTERM: the services give their stop
# contracts.lifecycle.STOP_GRACE_S = 2 s and then leave (measured: 1.6-3.3 s each with
# the broker gone, the tools the slowest); the rest is margin for a busy 2-core machine.
EXIT_WITHIN_S = 5.0
WORKERS = ("planner", "experts", "merger", "tools")


class Stack:
    def __init__(self, broker: Component, gateway_url: str) -> None:
        self.broker = broker
        self.gateway_url = gateway_url
        self.services: dict[str, ServiceProcess] = {}


@pytest.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    work = tmp_path_factory.mktemp("outages")
    node = KafkaNode(port=free_port(), controller_port=free_port(), state_dir=work / "kafka")
    broker = await start_broker(node, work)
    gateway_port, tools_port = free_port(), free_port()
    stack = Stack(broker, f"http://127.0.0.1:{gateway_port}")
    env = {
        "KAFKA_URL": node.bootstrap,
        "GATEWAY_PORT": str(gateway_port),
        "GATEWAY_HEALTH_MAX_AGE_S": "0",  # every /health call checks afresh
        "TOOLS_PORT": str(tools_port),
        "TOOLS_URL": f"http://127.0.0.1:{tools_port}",
        "TOOLS_POOL_SIZE": "1",
        # Nothing listens there: canaries never reach a model, and no test asks one.
        "INFERENCE_SERVERS": json.dumps([{"name": "local", "url": "http://127.0.0.1:9/v1"}]),
    }
    try:
        for name in ("gateway", *WORKERS):
            stack.services[name] = spawn_service(name, env, work)
        for name, service in stack.services.items():
            url = {
                "gateway": f"{stack.gateway_url}/health/live",
                "tools": f"{env['TOOLS_URL']}/health",
            }
            await wait_ready(service, url.get(name), timeout_s=90)
        yield stack
    finally:
        for service in stack.services.values():
            service.kill()
        broker.stop()


async def health(stack: Stack) -> httpx.Response:
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=15) as client:
        return await client.get("/health")


async def test_health_answers_200_when_every_stage_answers(stack: Stack) -> None:
    response = await health(stack)
    report = response.json()
    assert response.status_code == 200, report
    assert set(report["stages"]) == {"replies", *WORKERS}
    for stage in report["stages"].values():
        assert stage["status"] == "ok" and stage["latency_ms"] < 3000


async def test_health_names_the_stage_whose_worker_stopped(stack: Stack) -> None:
    seconds = await stack.services.pop("experts").exit_after(signal.SIGTERM, EXIT_WITHIN_S)
    response = await health(stack)
    report = response.json()
    assert response.status_code == 503
    assert report["failing"] == ["experts"]
    assert report["stages"]["experts"]["status"] == "no_answer"
    assert (
        "experts" in report["error"]["message"] and "moe.tasks.expert" in report["error"]["message"]
    )
    assert report["stages"]["planner"]["status"] == "ok"
    assert seconds < EXIT_WITHIN_S  # a clean stop, broker up


async def test_request_fails_fast_with_503_once_the_broker_is_gone(stack: Stack) -> None:
    assert stack.broker.pid is not None
    os.killpg(stack.broker.pid, signal.SIGKILL)  # gone at once, as in a crash
    stack.broker.stop()
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:
        started = time.monotonic()
        response = await client.post(
            "/v1/chat/completions",
            json={"model": "moe-orchestrator", "messages": [{"role": "user", "content": "hi"}]},
        )
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) >= 1
    error = response.json()["error"]
    assert "planner (moe.requests)" in error["message"], error
    assert error["type"] == "service_unavailable"
    assert elapsed < 6.0  # the gateway's publish timeout (3 s), not the 120 s deadline
    report = (await health(stack)).json()
    assert report["status"] == "unavailable" and "broker" in report["error"]["message"]


async def test_sigterm_stops_every_service_within_seconds_with_the_broker_gone(
    stack: Stack,
) -> None:
    assert stack.broker.returncode is not None  # stopped by the previous test
    services = list(stack.services.values())
    seconds = await asyncio.gather(*(s.exit_after(signal.SIGTERM, EXIT_WITHIN_S) for s in services))
    took = {service.name: round(s, 1) for service, s in zip(services, seconds, strict=True)}
    assert all(seconds < EXIT_WITHIN_S for seconds in took.values()), took
    assert not any(service.group_alive() for service in stack.services.values())

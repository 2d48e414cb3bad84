"""The project's own services in the local stack. Each is `python -m services.<name>`;
adding one is a line in SERVICES."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal

from contracts.liveness import HEARTBEAT_INTERVAL_S
from deploy.local.component import Component, HealthCheck
from deploy.local.config import StackConfig
from deploy.local.errors import StackError
from deploy.local.graphdb import bolt_uri
from deploy.local.health import file_fresh, http_ok

FASTSTREAM_READY = "FastStream app started successfully"
"""Logged by a FastStream app once its subscribers have joined their consumer groups.
A consumer has no port to probe, and until it has joined, a request published with no
committed offset for its group yet can be skipped; "alive for a few seconds" proved too
weak on 2 cores (the join alone takes about 5 s with several services starting)."""

SETTLE_S = 2.0
# Liveness: the process serves. The gateway's /health is 503 when a stage behind it
# cannot answer, which restarting the gateway would not mend.
# The ingest service's /health is 503 while the graph is down, which restarting it would
# not mend either (it reconnects by itself).
LIVENESS_PATH = {"gateway": "/health/live", "tools": "/health", "ingest": "/health/live"}
LIVENESS_MAX_AGE_S = 3 * HEARTBEAT_INTERVAL_S  # three missed heartbeats
"""Each service must still be alive this long after it reported ready."""


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    http_port: Literal["gateway", "tools", "ingest"] | None = None
    """Which configured port serves GET /health; None: wait for FASTSTREAM_READY in the
    service's log instead (a pure Kafka consumer)."""
    optional: bool = False
    """Started only once services/<name>/__main__.py exists (its issue has landed)."""
    needs_graphdb: bool = False
    """Started only with the graph database (a stack with `start_graphdb=False` has none)."""


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("gateway", http_port="gateway"),
    ServiceSpec("planner"),
    ServiceSpec("experts"),
    ServiceSpec("merger"),
    ServiceSpec("tools", http_port="tools", optional=True),
    ServiceSpec("ingest", http_port="ingest", optional=True, needs_graphdb=True),
)


def services_dir() -> Path:
    spec = importlib.util.find_spec("services")
    if spec is None or not spec.submodule_search_locations:
        raise StackError("the `services` package is not importable; run `make setup`.")
    return Path(next(iter(spec.submodule_search_locations)))


def is_available(spec: ServiceSpec) -> bool:
    return (services_dir() / spec.name / "__main__.py").is_file()


def service_env(config: StackConfig) -> dict[str, str]:
    """Environment every service gets: broker, model endpoints, its own host/port."""
    return {
        "KAFKA_URL": config.bootstrap,
        # INFERENCE_SERVERS with EXPERT_MODELS for the experts, and JUDGE_MODEL and
        # JUDGE_ENDPOINT for the merger's synthesis: the local llama.cpp server by default.
        **config.model_env(),
        "GATEWAY_HOST": config.gateway_host,
        "GATEWAY_PORT": str(config.gateway_port),
        "TOOLS_PORT": str(config.tools_port),
        # The planner learns the plannable tools from the tools service's GET /tools.
        "TOOLS_URL": f"http://127.0.0.1:{config.tools_port}",
        # The knowledge graph service: its graph, its HTTP API, and the gateway's route to
        # that API (GET /v1/graph/stats and /v1/graph/search; without it, 404).
        "INGEST_PORT": str(config.ingest_port),
        "INGEST_BOLT_URL": bolt_uri(config.bolt_port),
        "GATEWAY_GRAPH_URL": f"http://127.0.0.1:{config.ingest_port}"
        if config.start_graphdb
        else "",
        "PYTHONUNBUFFERED": "1",
        # The planner's semantic cache: embedded ChromaDB, kept with the broker's log.
        **semantic_cache_env(config),
        **llm_planner_env(config),
    }


def semantic_cache_env(config: StackConfig) -> dict[str, str]:
    if not config.semantic_cache:
        return {}
    return {"PLANNER_CHROMA_PATH": str((config.state_dir / "chroma").resolve())}


def llm_planner_env(config: StackConfig) -> dict[str, str]:
    if config.llm_planner is None:
        return {}
    return {"PLANNER_LLM_PLANNER": str(config.llm_planner).lower()}


def service_component(spec: ServiceSpec, config: StackConfig) -> Component:
    if spec.http_port == "gateway":
        host, port = config.gateway_host, config.gateway_port
    elif spec.http_port == "tools":
        host, port = "127.0.0.1", config.tools_port
    elif spec.http_port == "ingest":
        host, port = "127.0.0.1", config.ingest_port
    else:
        host, port = "", 0
    base = f"http://{host}:{port}" if port else None
    log_path = config.log_dir / f"{spec.name}.log"
    health: HealthCheck | None = partial(http_ok, f"{base}/health") if base else None
    env = service_env(config)
    liveness: HealthCheck | None = None
    if base:
        liveness = partial(http_ok, f"{base}{LIVENESS_PATH[spec.name]}")
    else:  # a pure Kafka worker rewrites its liveness file at every heartbeat
        beat_file = config.state_dir / "liveness" / spec.name
        beat_file.parent.mkdir(parents=True, exist_ok=True)
        env[f"{spec.name.upper()}_LIVENESS_FILE"] = str(beat_file)
        liveness = partial(file_fresh, beat_file, LIVENESS_MAX_AGE_S)
    return Component(
        name=spec.name,
        command=[sys.executable, "-m", f"services.{spec.name}"],
        log_path=log_path,
        env=env,
        health=health,
        ready_text=None if base else FASTSTREAM_READY,
        liveness=liveness,
        ports={"HTTP port": port} if port else {},
        url=base,
        startup_timeout_s=90.0,
        settle_s=SETTLE_S,
    )


def service_components(config: StackConfig) -> list[Component]:
    """One component per service whose code exists; a missing required one is an error."""
    components = []
    for spec in SERVICES:
        if spec.needs_graphdb and not config.start_graphdb:
            continue
        if is_available(spec):
            components.append(service_component(spec, config))
        elif not spec.optional:
            raise StackError(
                f"service {spec.name} has no services/{spec.name}/__main__.py to start"
            )
    return components

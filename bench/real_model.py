"""The real small model under concurrent load: SmolLM2-135M-Instruct served by the
previous local model server (llama-cpp-python's `llama_cpp.server`, its defaults) and by
the chosen one (llama.cpp's `llama-server` with parallel slots), each at every
concurrency level: straight to the model server (the baseline), then through the
gateway. Requests per second count answers with content; an answer that ended with no
content is counted apart (its share is the figure to keep at 0).

Runs after the scripted-model scenarios, with its own stack (broker and services, no
graph DB) whose model endpoint is one fixed port: each server in turn is started there,
measured and stopped."""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import Callable
from pathlib import Path

import structlog
from pydantic import BaseModel, ConfigDict, Field

from bench.client import Endpoint, new_client, timed_chat
from bench.config import BenchConfig
from bench.throughput import ThroughputRun, closed_loop
from contracts.inference import ExpertModel, InferenceServer
from deploy.local import MODEL_ALIAS, Component, LocalStack, StackConfig, free_port, llm_base_url
from deploy.local.binaries import llama_server_available, llama_server_binary, model_file
from deploy.local.errors import MissingBinaryError
from deploy.local.llm import PARALLEL_SLOTS, llama_cpp_python_component, llm_component

log = structlog.get_logger("bench")

GATEWAY_MODEL = "moe-orchestrator"
ENDPOINT = "local"
TOPICS = (
    "volcanoes", "honey bees", "the Moon", "coffee", "trains", "chess", "the ocean", "glaciers",
    "owls", "bread", "comets", "rivers",
)  # fmt: skip

ServerFactory = Callable[[int, Path], Component]
SERVERS: tuple[tuple[str, ServerFactory], ...] = (
    ("llama_cpp.server (llama-cpp-python, defaults)", llama_cpp_python_component),
    (f"llama-server --parallel {PARALLEL_SLOTS} (chosen)", llm_component),
)


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class ServerRuns(Frozen):
    server: str
    command: str
    runs: list[ThroughputRun] = Field(description="path direct | gateway, by concurrency.")


class RealModel(Frozen):
    measured: bool
    reason: str | None = Field(default=None, description="Why it was not measured.")
    model: str | None = None
    max_tokens: int | None = None
    seconds_per_level: float | None = None
    servers: list[ServerRuns] = Field(default_factory=list)


def questions(run: str) -> Callable[[int], str]:
    """The n-th request's question in one run: short, and asked in no other request of
    the benchmark (so that no answer comes from the gateway's cache)."""

    def ask(number: int) -> str:
        topic = TOPICS[number % len(TOPICS)]
        return f"In one sentence, tell me something about {topic}. (#{run}-{number})"

    return ask


def unavailable_reason() -> str | None:
    try:
        llama_server_binary()
        model_file()
    except MissingBinaryError as exc:
        return str(exc)
    if not llama_server_available():
        return "llama-cpp-python is not installed; run `make setup` (extra `local-llm`)."
    return None


def stack_config(log_dir: Path, model_port: int) -> StackConfig:
    return StackConfig(
        broker_port=free_port(),
        controller_port=free_port(),
        state_dir=log_dir / "state",
        fresh=True,
        gateway_port=free_port(),
        tools_port=free_port(),
        log_dir=log_dir,
        start_graphdb=False,
        start_llm=False,
        inference_servers=[InferenceServer(name=ENDPOINT, url=llm_base_url(model_port))],
        model=MODEL_ALIAS,
        expert_models={"general": [ExpertModel(model=MODEL_ALIAS, endpoint=ENDPOINT)]},
    )


async def measure_real_model(config: BenchConfig) -> RealModel:
    if not config.real_model:
        skipped = "--no-real-model" if not config.quick else "not in --quick mode (--real-model)"
        return RealModel(measured=False, reason=skipped)
    missing = unavailable_reason()
    if missing is not None:
        log.warning("real_model_unavailable", reason=missing)
        return RealModel(measured=False, reason=missing)
    log_dir = config.log_dir.resolve() / "real-model"
    port = free_port()
    stack = LocalStack(stack_config(log_dir, port))
    measured: list[ServerRuns] = []
    try:
        await stack.start()
        for index, (name, factory) in enumerate(SERVERS):
            server = factory(port, log_dir)
            await server.start()
            try:
                runs = await measure_server(config, server, stack.config.api_url, f"s{index}")
            finally:
                await asyncio.to_thread(server.stop)
            measured.append(ServerRuns(server=name, command=shlex.join(server.command), runs=runs))
    finally:
        await stack.stop()
    return RealModel(
        measured=True,
        model=model_file().name,
        max_tokens=config.real_model_max_tokens,
        seconds_per_level=config.real_model_seconds,
        servers=measured,
    )


async def measure_server(
    config: BenchConfig, server: Component, api_url: str, tag: str
) -> list[ThroughputRun]:
    paths = [
        Endpoint("direct", server.url or "", MODEL_ALIAS),
        Endpoint("gateway", api_url, GATEWAY_MODEL),
    ]
    max_tokens = config.real_model_max_tokens
    async with new_client() as client:  # warm both paths: first prompt, connections
        for endpoint in paths:
            warm_up = questions(f"{tag}-warm-up-{endpoint.name}")
            await timed_chat(client, endpoint, warm_up(0), max_tokens)
    runs: list[ThroughputRun] = []
    for concurrency in config.real_model_concurrency:
        for endpoint in paths:
            log.info(
                "phase", name="real model", server=server.name, path=endpoint.name,
                concurrency=concurrency,
            )  # fmt: skip
            ask = questions(f"{tag}-{endpoint.name}-c{concurrency}")
            seconds = config.real_model_seconds
            runs.append(await closed_loop(endpoint, concurrency, seconds, ask, max_tokens))
    return runs

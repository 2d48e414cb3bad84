"""One benchmark run: start the processes, measure every scenario with its baseline in
the same run, then write bench/results/latest.json and the chart."""

from __future__ import annotations

import asyncio
import os
import platform
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog

from bench import assemble, hop, litellm_proxy
from bench.breakdown import EventRecorder, Stage, ttft_breakdown
from bench.cache_hit import measure_cache_hit
from bench.client import Endpoint, new_client
from bench.config import WARM_UP_CONCURRENCY, BenchConfig
from bench.floor import round_trips
from bench.graph_context import GraphSize, measure_graph_context, report_rows
from bench.latency import PathSamples, measure_paths, question
from bench.memory import ProcessUsage, UsageSampler, idle_cpu
from bench.pipeline import measure_escalation, measure_pipeline
from bench.planner_paths import ChartPanels, measure_planner_paths
from bench.planning import (
    measure_coalescing,
    measure_precision_path,
    measure_router_decisions,
    planning_report,
)
from bench.processes import REPO, SCRIPTED_MODEL, Processes, running
from bench.profiling import Profiler, ServiceProfile
from bench.real_model import RealModel, measure_real_model
from bench.report import (
    BenchReport,
    BrokerFloor,
    HopCost,
    Meta,
    PlannerPaths,
    StackCost,
    Throughput,
)
from bench.stats import Distribution
from bench.targets import evaluate
from bench.throughput import ThroughputRun, closed_loop
from bench.tool_path import measure_direct_tool, measure_tool_path, wait_for_tool_route
from contracts.wire import FETCH_MAX_WAIT_MS

log = structlog.get_logger("bench")
GATEWAY_MODEL = "moe-orchestrator"
CLIENT = "bench-client"
IDLE_SETTLE_S = 2.0
BASELINE_WARM_UP_S = 5.0


@dataclass
class Measured:
    """Raw samples (seconds), kept for the chart and the report."""

    floor: list[float] = field(default_factory=list)
    hops: dict[str, list[float]] = field(default_factory=dict)
    paths: dict[str, PathSamples] = field(default_factory=dict)
    tool: PathSamples = field(default_factory=PathSamples)
    tool_direct: PathSamples = field(default_factory=PathSamples)
    tool_model_calls: int = 0
    cache: PathSamples = field(default_factory=PathSamples)
    cache_model_calls: int = 0
    pipeline: list[float] = field(default_factory=list)
    critical: list[float] = field(default_factory=list)
    pipeline_errors: int = 0
    escalation: list[float] = field(default_factory=list)
    escalation_critical: list[float] = field(default_factory=list)
    escalation_errors: int = 0
    runs: list[ThroughputRun] = field(default_factory=list)
    cpu_ms_per_request: dict[str, float] = field(default_factory=dict)
    profiles: list[ServiceProfile] = field(default_factory=list)
    stages: list[Stage] = field(default_factory=list)
    stack: StackCost | None = None
    graph: list[GraphSize] = field(default_factory=list)
    precision: PathSamples = field(default_factory=PathSamples)
    coalesced: tuple[int, int] = (0, 0)
    router: list[float] = field(default_factory=list)
    planner_paths: ChartPanels = field(default_factory=dict)


def endpoints(procs: Processes) -> list[Endpoint]:
    found = [
        Endpoint("direct", procs.scripted_url, SCRIPTED_MODEL),
        Endpoint("gateway", procs.gateway_url, GATEWAY_MODEL),
    ]
    if procs.litellm is not None and procs.litellm.url:
        found.append(Endpoint("litellm", procs.litellm.url, litellm_proxy.MODEL_NAME))
    return found


async def warm_up(config: BenchConfig, procs: Processes) -> None:
    """Every path under load for a few seconds, untimed, so that the stack is
    timed as it runs most of its life, warm (the broker's JIT done, pools open)."""
    if config.warm_up_seconds <= 0:
        return
    await procs.set_script(config.throughput_model)
    for endpoint in endpoints(procs):
        seconds = config.warm_up_seconds
        if endpoint.name != "gateway":  # no JVM to warm: connections and pools only
            seconds = min(seconds, BASELINE_WARM_UP_S)
        log.info("phase", name="warm-up", path=endpoint.name, seconds=seconds)
        await closed_loop(endpoint, WARM_UP_CONCURRENCY, seconds, ask=warm_up_question)


def warm_up_question(number: int) -> str:
    return question(number, "warm-up")  # asked by no timed phase: no cache hit there


def lone_warm_up_question(number: int) -> str:
    return question(number, "warm-up, one at a time")


async def lone_stream_warm_up(config: BenchConfig, ours: Endpoint) -> None:
    """Ours one request at a time, untimed, right before the rows that send them so: a
    lone stream runs code that load seldom does (each fetch waits for the next token),
    and the broker's JIT compiles it only once it runs."""
    seconds = config.lone_stream_warm_up_seconds
    log.info("phase", name="warm-up", path=ours.name, concurrency=1, seconds=seconds)
    await closed_loop(ours, 1, seconds, ask=lone_warm_up_question)


async def measure_latency(config: BenchConfig, procs: Processes, out: Measured) -> None:
    paths = endpoints(procs)
    await procs.set_script(config.latency_model)
    await lone_stream_warm_up(config, paths[1])
    async with new_client() as client:
        log.info("phase", name="single-expert latency", requests=config.latency_requests)
        recorder = EventRecorder(procs.bootstrap)
        await recorder.mark()
        try:
            out.paths = await measure_paths(
                client, paths, config.latency_requests, config.warmup_requests
            )
        finally:
            out.stages = await ttft_breakdown(
                recorder,
                out.paths.get("gateway", PathSamples()).timings,
                config.latency_model.first_token_delay_ms / 1000,
            )
        gateway = paths[1]
        log.info("phase", name="cache hit", requests=config.cache_requests)
        out.cache, out.cache_model_calls = await measure_cache_hit(
            client, gateway, procs.model_calls, config.cache_requests
        )
        log.info("phase", name="no-model (tool) path", requests=config.tool_requests)
        await wait_for_tool_route(client, gateway, 60)
        calls = await procs.model_calls()
        out.tool = await measure_tool_path(client, gateway, config.tool_requests)
        out.tool_model_calls = await procs.model_calls() - calls
        tools_url = f"http://127.0.0.1:{procs.stack.config.tools_port}"
        out.tool_direct = await measure_direct_tool(client, tools_url, config.tool_requests)
        log.info("phase", name="planner: precision tools, coalescing, router decisions")
        out.precision = await measure_precision_path(client, gateway, config.tool_requests)
        out.coalesced = await measure_coalescing(
            client, gateway, procs.model_calls, config.coalesce_requests
        )
        out.router = await measure_router_decisions(config.router_decisions)
        log.info("phase", name="full pipeline, 3 tasks", requests=config.pipeline_requests)
        out.pipeline, out.critical, out.pipeline_errors = await measure_pipeline(
            procs.bootstrap,
            client,
            paths[0],
            config.pipeline_tasks,
            config.synthesis_model,
            config.pipeline_requests,
        )
        log.info("phase", name="tier escalation", requests=config.escalation_requests)
        out.escalation, out.escalation_critical, out.escalation_errors = await measure_escalation(
            procs.bootstrap, client, paths[0], config.escalation_model, config.escalation_requests
        )


async def measure_throughput(
    config: BenchConfig, procs: Processes, sampler: UsageSampler, out: Measured
) -> None:
    await procs.set_script(config.throughput_model)
    top = max(config.concurrency)
    for concurrency in config.concurrency:
        for endpoint in endpoints(procs):
            log.info("phase", name="throughput", path=endpoint.name, concurrency=concurrency)
            profile = config.profile and endpoint.name == "gateway" and concurrency == top
            profiler = Profiler(
                procs.pids(), config.throughput_seconds, config.results_dir / "profiles"
            )
            if profile:
                await profiler.start()
            before = await asyncio.to_thread(sampler.cpu_snapshot)
            run = await closed_loop(endpoint, concurrency, config.throughput_seconds)
            out.runs.append(run)
            if endpoint.name == "gateway" and concurrency == top and run.completed:
                after = await asyncio.to_thread(sampler.cpu_snapshot)
                out.cpu_ms_per_request = {
                    name: round((after[name] - before[name]) * 1000 / run.completed, 3)
                    for name in after
                }
            if profile:
                out.profiles = await profiler.finish()


async def commit() -> tuple[str | None, bool | None]:
    """The checked-out commit and whether the work tree differs from it."""
    repo = REPO

    async def git(*args: str) -> str | None:
        try:
            process = await asyncio.create_subprocess_exec(
                "git", *args, cwd=repo, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
        except OSError:
            return None
        stdout, _ = await process.communicate()
        return stdout.decode().strip() if process.returncode == 0 else None

    head = await git("rev-parse", "HEAD")
    status = await git("status", "--porcelain", "--untracked-files=no")
    return head, None if status is None else bool(status)


async def run(config: BenchConfig) -> tuple[BenchReport, Measured]:
    started_at, began = datetime.now(UTC), time.perf_counter()
    out = Measured()
    async with running(config) as procs:
        # The client's own share: on two cores it competes with the services it measures.
        # Without its children: those are the processes under test.
        pids = {**procs.pids(), CLIENT: os.getpid()}
        sampler = UsageSampler(pids, without_children=frozenset({CLIENT}))
        sampler.start()
        idle: dict[str, float] = {}
        try:
            await warm_up(config, procs)
            log.info("phase", name="broker floor", messages=config.floor_messages)
            out.floor = await round_trips(procs.bootstrap, config.floor_messages)
            for variant in hop.VARIANTS:
                log.info("phase", name="hop cost", variant=variant)
                out.hops[variant] = await hop.round_trips(
                    procs.bootstrap, variant, config.hop_messages
                )
            await measure_latency(config, procs, out)
            await measure_throughput(config, procs, sampler, out)
            # At rest after the load, as a stack is most of its life.
            await asyncio.sleep(IDLE_SETTLE_S)
            log.info("phase", name="idle", seconds=config.idle_seconds)
            idle = await idle_cpu(sampler, config.idle_seconds)
            if config.graph:  # last: the planner then knows graph terms (graph tasks)
                log.info("phase", name="graph context", relations=config.graph_relations)
                out.graph = await measure_graph_context(
                    procs.bootstrap,
                    config.log_dir / "graph",
                    config.graph_requests,
                    config.graph_relations,
                )
        finally:
            memory = await sampler.stop(idle)
        litellm_reason = procs.litellm_reason
        stack_names = [component.name for component in procs.stack.components]
        log.info("phase", name="warm restart")
        out.stack = StackCost(
            first_start_s=procs.first_start_s,
            warm_restart_s=await procs.restart_stack(),
            idle_seconds=config.idle_seconds,
            idle_cpu_pct=round(sum(idle.get(name, 0.0) for name in stack_names), 1),
        )
    # After the main stack, in stacks of their own: the semantic cache and the LLM
    # planner are off there; a real model takes the cores.
    planner_paths = await measure_planner_paths(config, out.planner_paths)
    real = await measure_real_model(config)
    head, dirty = await commit()
    meta = Meta(
        commit=head,
        commit_dirty=dirty,
        timestamp=started_at.isoformat(),
        cores=os.cpu_count() or 0,
        python=platform.python_version(),
        platform=platform.platform(),
        quick=config.quick,
        wall_seconds=round(time.perf_counter() - began, 1),
        config=config.model_dump(mode="json"),
    )
    report = build_report(config, meta, out, memory, litellm_reason, real, planner_paths)
    return report, out


def build_report(
    config: BenchConfig,
    meta: Meta,
    out: Measured,
    memory: list[ProcessUsage],
    litellm_reason: str | None,
    real: RealModel | None = None,
    planner_paths: PlannerPaths | None = None,
) -> BenchReport:
    floor = Distribution.of_seconds(out.floor)
    single = assemble.single_expert(config, out.paths, out.stages)
    relay = assemble.relay_delay(out.paths)
    litellm = assemble.litellm_side(
        single, out.paths, litellm_reason, litellm_proxy.installed_version()
    )
    pipeline = assemble.full_pipeline(config, out.pipeline, out.critical, out.pipeline_errors)
    escalation = assemble.tier_escalation(
        config, out.escalation, out.escalation_critical, out.escalation_errors
    )
    throughput = Throughput(model=config.throughput_model, runs=out.runs)
    cache = assemble.cache_hit(out.paths, out.cache, out.cache_model_calls, floor)
    planning = planning_report(config, out.precision, out.tool, out.coalesced, out.router)
    targets = evaluate(
        single, relay, cache, pipeline, throughput, litellm, out.stack, escalation, planning,
        planner_paths,
    )  # fmt: skip
    return BenchReport(
        meta=meta,
        broker_floor=BrokerFloor(
            round_trip=floor, messages=config.floor_messages, fetch_max_wait_ms=FETCH_MAX_WAIT_MS
        ),
        hop_cost=HopCost(
            **{name: Distribution.of_seconds(samples) for name, samples in out.hops.items()}
        ),
        single_expert=single,
        relay_delay=relay,
        cache_hit=cache,
        tool_path=assemble.tool_path(
            config, out.tool, out.tool_direct, out.tool_model_calls, floor
        ),
        full_pipeline=pipeline,
        tier_escalation=escalation,
        throughput=throughput,
        litellm=litellm,
        memory=memory,
        cpu_ms_per_request=out.cpu_ms_per_request,
        targets=targets,
        profiles=out.profiles,
        real_model=real,
        stack=out.stack,
        graph_context=report_rows(out.graph),
        planning=planning,
        planner_paths=planner_paths,
    )

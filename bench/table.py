"""The run's figures as rich tables on the terminal."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from bench.breakdown import Stage
from bench.real_model import RealModel
from bench.report import BenchReport, Target
from bench.stats import Compared, Distribution, Percentiles

DASH = "—"


def _num(value: float | None, digits: int = 1) -> str:
    return DASH if value is None else f"{value:.{digits}f}"


def _triple(figures: Distribution | Percentiles | None, digits: int = 1) -> str:
    if figures is None or figures.p50 is None:
        return DASH
    return " / ".join(_num(v, digits) for v in (figures.p50, figures.p95, figures.p99))


def _compared_row(table: Table, name: str, compared: Compared | None, baseline: str) -> None:
    if compared is None:
        table.add_row(name, DASH, DASH, DASH, DASH, baseline)
        return
    table.add_row(
        name,
        _triple(compared.measured),
        _triple(compared.baseline),
        _triple(compared.added_ms),
        _triple(compared.ratio, 2),
        baseline,
    )


def latency_table(report: BenchReport) -> Table:
    table = Table(title="Latency, ms: p50 / p95 / p99", title_justify="left")
    for column in ("figure", "measured", "baseline", "added ms", "ratio", "baseline is"):
        table.add_column(column)
    floor = report.broker_floor.round_trip
    table.add_row("broker floor (produce→consume)", _triple(floor), DASH, DASH, DASH, DASH)
    hops = report.hop_cost
    for name, label in (
        ("bare", "FastStream"),
        ("wire", "+ middlewares"),
        ("services", "+ Context"),
    ):
        _compared_row(
            table,
            f"echo, 2 hops: {label}",
            Compared.of(getattr(hops, name), hops.raw),
            "raw aiokafka echo",
        )
    single, lite = report.single_expert, report.litellm
    _compared_row(table, "single expert: TTFT (ours)", single.ttft, "model direct")
    _compared_row(table, "single expert: total (ours)", single.total, "model direct")
    lite_note = "model direct" if lite.available else f"[yellow]{lite.reason}[/yellow]"
    _compared_row(table, "single expert: TTFT (LiteLLM)", lite.ttft, lite_note)
    _compared_row(table, "single expert: total (LiteLLM)", lite.total, lite_note)
    relay = report.relay_delay
    table.add_row(
        "per-token relay delay (ours)", _triple(relay.ours), _triple(relay.direct),
        DASH, DASH, "model direct",
    )  # fmt: skip
    if relay.litellm is not None:
        table.add_row(
            "per-token relay delay (LiteLLM)", _triple(relay.litellm), _triple(relay.direct),
            DASH, DASH, "model direct",
        )  # fmt: skip
    _compared_row(table, "cache hit, end to end", report.cache_hit.total, "model direct")
    tool = report.tool_path
    _compared_row(table, "no-model path (calculate tool)", tool.total, "tool REST /invoke")
    pipeline = report.full_pipeline
    _compared_row(
        table, "full pipeline, 3 tasks + thinking + synthesis", pipeline.total,
        "critical path direct: tasks, thinking, judge",
    )  # fmt: skip
    for size in report.graph_context:
        _compared_row(
            table, f"graph context task, 2 hops, {size.relations:,} relations", size.task,
            "the same query via the neo4j driver",
        )  # fmt: skip
    paths = report.planner_paths
    if paths is not None and paths.measured:
        _compared_row(
            table, "semantic cache hit, end to end (paraphrase)", paths.semantic_hit,
            "exact-cache hit, same run",
        )  # fmt: skip
        _compared_row(
            table, "LLM-planner path: TTFT (plan, then 1 expert)", paths.planned_ttft,
            "planner model's plan + expert's first token, direct",
        )  # fmt: skip
    if report.tier_escalation is not None:
        _compared_row(
            table, "tier escalation (tier 1 unsure, tier 2)", report.tier_escalation.total,
            "critical path direct: tier 1, then tier 2",
        )  # fmt: skip
    return table


def stages_table(title: str, stages: list[Stage]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("stage", "p50", "p95", "p99"):
        table.add_column(column)
    for stage in stages:
        latency = stage.latency
        table.add_row(stage.name, _num(latency.p50), _num(latency.p95), _num(latency.p99))
    return table


def breakdown_table(report: BenchReport) -> Table:
    title = "Single expert: where the time to first token goes, ms"
    return stages_table(title, report.single_expert.ttft_breakdown)


def throughput_table(report: BenchReport) -> Table:
    table = Table(title="Throughput, completed streamed requests/s", title_justify="left")
    for column in ("path", "concurrency", "req/s", "errors", "latency p50 / p95 / p99 ms"):
        table.add_column(column)
    for run in report.throughput.runs:
        errors = f"[red]{run.errors}[/red]" if run.errors else "0"
        table.add_row(
            run.path, str(run.concurrency), _num(run.requests_per_s), errors,
            _triple(run.latency),
        )  # fmt: skip
    return table


def real_model_table(real: RealModel) -> Table:
    table = Table(
        title=f"Real model ({real.model}, ≤{real.max_tokens} tokens): answered requests/s",
        title_justify="left",
    )
    columns = ("server", "path", "concurrency", "req/s", "TTFT p50 / p99 ms", "empty", "errors")
    for column in columns:
        table.add_column(column)
    for server in real.servers:
        for run in server.runs:
            share = run.empty_share or 0.0
            empty = f"{share:.0%}" if not run.empty else f"[red]{share:.0%} ({run.empty})[/red]"
            errors = f"[red]{run.errors}[/red]" if run.errors else "0"
            ttft = f"{_num(run.ttft.p50, 0)} / {_num(run.ttft.p99, 0)}"
            table.add_row(
                server.server, run.path, str(run.concurrency), _num(run.requests_per_s, 2),
                ttft, empty, errors,
            )  # fmt: skip
    return table


def _verdict(target: Target) -> str:
    if target.met is None:
        return "[yellow]not measured[/yellow]"
    return "[green]met[/green]" if target.met else "[red]missed[/red]"


def targets_table(report: BenchReport) -> Table:
    table = Table(title="Targets", title_justify="left")
    for column in ("target", "limit", "value", "verdict", "note"):
        table.add_column(column)
    for target in report.targets:
        value = _num(target.value, 2)
        table.add_row(target.name, target.limit, value, _verdict(target), target.note or "")
    return table


def memory_table(report: BenchReport) -> Table:
    table = Table(title="Processes: peak RSS and CPU per request", title_justify="left")
    columns = ("process", "peak RSS MiB", "CPU s (run)", "idle CPU %", "CPU ms/request at top")
    for column in columns:
        table.add_column(column)
    for usage in report.memory:
        per_request = report.cpu_ms_per_request.get(usage.name)
        table.add_row(
            usage.name,
            _num(usage.peak_rss_mb),
            _num(usage.cpu_seconds, 2),
            _num(usage.idle_cpu_pct),
            _num(per_request, 2),
        )
    return table


def stack_line(report: BenchReport) -> str:
    stack = report.stack
    if stack is None:
        return "stack: not measured"
    return (
        f"stack: first start {_num(stack.first_start_s, 1)} s (broker log formatted) · "
        f"warm restart {_num(stack.warm_restart_s, 1)} s · at rest "
        f"{stack.idle_cpu_pct:.1f} % of a core over {stack.idle_seconds:g} s (broker + services)"
    )


def show(report: BenchReport, console: Console) -> None:
    meta = report.meta
    console.print(
        f"[bold]moe bench[/bold] · commit {meta.commit or '?'}"
        f"{' (dirty)' if meta.commit_dirty else ''} · {meta.cores} cores · "
        f"{meta.wall_seconds:.0f} s{' · QUICK MODE: figures not stable' if meta.quick else ''}"
    )
    tables = (latency_table, breakdown_table, throughput_table, targets_table, memory_table)
    for table in tables:
        console.print(table(report))
    console.print(stack_line(report), highlight=False)
    real = report.real_model
    if real is not None and real.measured:
        console.print(real_model_table(real))
    elif real is not None:
        console.print(f"real model: not measured ({real.reason})", highlight=False)
    paths = report.planner_paths
    if paths is not None and paths.measured:
        title = "LLM-planner path: where the time to first token goes, ms"
        console.print(stages_table(title, paths.planned_ttft_breakdown))
        console.print(
            f"(to planner: with the planner model's {_num(paths.planner_model_ms, 0)} ms plan)"
        )
    elif paths is not None:
        console.print(f"planner paths: not measured ({paths.reason})", highlight=False)
    console.print(f"synthesis: {report.full_pipeline.synthesis}")

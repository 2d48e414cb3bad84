"""`python -m bench` and `moe bench`: one benchmark run, its table and its files."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path
from typing import Annotated

import structlog
import typer
from rich.console import Console

from bench.config import RESULTS_DIR, BenchConfig
from deploy.local.errors import StackError

console = Console()
if not console.is_terminal:  # logs and CI: wide enough that the tables stay readable
    console.width = 160
errors = Console(stderr=True, soft_wrap=True)


def bench_command(
    quick: Annotated[
        bool, typer.Option("--quick", help="A few requests per scenario (the test's mode).")
    ] = False,
    requests: Annotated[
        int | None, typer.Option(help="Sequential requests per path for latency.")
    ] = None,
    seconds: Annotated[
        float | None, typer.Option(help="Seconds per throughput level and path.")
    ] = None,
    litellm: Annotated[
        bool, typer.Option("--litellm/--no-litellm", help="Measure the LiteLLM proxy too.")
    ] = True,
    real_model: Annotated[
        bool | None,
        typer.Option(
            "--real-model/--no-real-model",
            help="Measure SmolLM2 on the previous and the chosen local model server "
            "(about 1.5 minutes; on by default, off with --quick).",
        ),
    ] = None,
    planner_paths: Annotated[
        bool | None,
        typer.Option(
            "--planner-paths/--no-planner-paths",
            help="Semantic cache hit and LLM-planner TTFT, in a stack of their own (about "
            "a minute; on by default, off with --quick).",
        ),
    ] = None,
    graph: Annotated[
        bool,
        typer.Option(
            "--graph/--no-graph",
            help="Graph-context rows (FalkorDB and the ingest service; about a minute).",
        ),
    ] = True,
    profile: Annotated[
        bool, typer.Option("--profile", help="py-spy the services at top load (perturbs that run).")
    ] = False,
    results_dir: Annotated[
        Path, typer.Option(help="Where latest.json and the chart go.")
    ] = RESULTS_DIR,
    log_dir: Annotated[Path, typer.Option(help="One log file per process.")] = Path(
        ".stack/bench/logs"
    ),
) -> None:
    """Measure what the orchestration costs over the model, next to LiteLLM."""
    overrides: dict[str, object] = {
        "litellm": litellm,
        "graph": graph,
        "profile": profile,
        "results_dir": results_dir,
        "log_dir": log_dir,
    }
    if real_model is not None:
        overrides["real_model"] = real_model
    if planner_paths is not None:
        overrides["planner_paths"] = planner_paths
    if requests is not None:
        overrides["latency_requests"] = requests
    if seconds is not None:
        overrides["throughput_seconds"] = seconds
    config = BenchConfig.quick_mode(**overrides) if quick else BenchConfig(**overrides)
    # Imported here: `moe` loads this module for its help, and these pull in matplotlib.
    from bench.output import save
    from bench.runner import run
    from bench.table import show

    # SIGTERM (a `kill`, a CI timeout) stops the benchmark like Ctrl-C does: the run is
    # cancelled and its processes stopped. By default it ended this process alone and
    # left the broker, the services, the scripted model and LiteLLM running.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        report, measured = asyncio.run(run(config))
    except StackError as exc:
        errors.print("[bold red]The benchmark's processes did not start:[/bold red]")
        errors.print(str(exc), markup=False, highlight=False)
        raise typer.Exit(1) from exc
    json_path, chart = save(report, measured, config.results_dir)
    show(report, console)
    console.print(f"results: {json_path}\nchart:   {chart}")
    for found in report.profiles:
        console.print(f"profile: {found.folded_stacks}")


def main() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    typer.run(bench_command)

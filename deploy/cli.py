"""`moe`: the project's command line. `moe run` starts the local stack."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated

import structlog
import typer
from pydantic import ValidationError
from rich.console import Console

from bench.cli import bench_command
from bench.soak import soak_command
from contracts.inference import ExpertModel, InferenceServer
from contracts.topics import DEFAULT_REQUEST_PARTITIONS, DEFAULT_RETENTION_HOURS
from deploy.local.config import ExpertModelsAdapter, ServersAdapter, StackConfig
from deploy.local.display import RichObserver, ready_panel
from deploy.local.errors import StackError
from deploy.local.stack import LocalStack, LogObserver

app = typer.Typer(help="Sovereign MoE over Kafka.", no_args_is_help=True, add_completion=False)
app.command(name="bench")(bench_command)
app.command(name="soak")(soak_command)
console = Console()
errors = Console(stderr=True, soft_wrap=True)


def _servers(value: str | None) -> list[InferenceServer] | None:
    return ServersAdapter.validate_json(value) if value else None


def _expert_models(value: str | None) -> dict[str, list[ExpertModel]] | None:
    return ExpertModelsAdapter.validate_json(value) if value else None


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """Sovereign MoE over Kafka: an OpenAI-compatible mixture-of-experts orchestrator."""
    level = logging.DEBUG if verbose else logging.INFO
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(level))


@app.command()
def run(
    broker_port: Annotated[int, typer.Option(help="Kafka port of the local broker.")] = 9092,
    controller_port: Annotated[
        int, typer.Option(help="KRaft controller port of the local broker.")
    ] = 9093,
    kafka_bootstrap: Annotated[
        str | None,
        typer.Option(
            envvar="KAFKA_BOOTSTRAP",
            help="Use this Kafka cluster (host:port,…) instead of starting the local broker.",
        ),
    ] = None,
    state_dir: Annotated[
        Path, typer.Option(help="What survives a restart: the broker's log (events, offsets).")
    ] = Path(".stack/state"),
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Start from empty: delete the broker's log first.")
    ] = False,
    retention_hours: Annotated[
        float,
        typer.Option(envvar="MOE_RETENTION_HOURS", help="How long event topics keep events."),
    ] = DEFAULT_RETENTION_HOURS,
    graph_port: Annotated[int, typer.Option(help="Redis port of FalkorDB.")] = 6379,
    bolt_port: Annotated[int, typer.Option(help="Bolt port of FalkorDB.")] = 7687,
    llm_port: Annotated[int, typer.Option(help="Port of the local model server.")] = 8080,
    gateway_port: Annotated[int, typer.Option(help="Port of the OpenAI-compatible API.")] = 8000,
    tools_port: Annotated[int, typer.Option(help="Port of the tools service.")] = 8003,
    ingest_port: Annotated[
        int, typer.Option(help="Port of the knowledge graph service's HTTP API.")
    ] = 8004,
    log_dir: Annotated[Path, typer.Option(help="One log file per component.")] = Path(
        ".stack/logs"
    ),
    llm: Annotated[
        bool | None,
        typer.Option(
            "--llm/--no-llm",
            help="Run the local llama.cpp model server. Default: only when no "
            "--inference-servers are given.",
            show_default=False,
        ),
    ] = None,
    inference_servers: Annotated[
        str | None,
        typer.Option(
            envvar="INFERENCE_SERVERS",
            help='JSON list of OpenAI-compatible endpoints, e.g. \'[{"name": "gpu", '
            '"url": "http://gpu1:8000/v1"}]\'. Default: the local model server.',
        ),
    ] = None,
    model: Annotated[
        str, typer.Option(help="Model id every role uses unless set below.")
    ] = "smollm2",
    expert_models: Annotated[
        str | None,
        typer.Option(envvar="EXPERT_MODELS", help="JSON: category -> [{model, endpoint}]."),
    ] = None,
    judge_model: Annotated[str | None, typer.Option(envvar="JUDGE_MODEL")] = None,
    judge_endpoint: Annotated[str | None, typer.Option(envvar="JUDGE_ENDPOINT")] = None,
    llm_planner: Annotated[
        bool | None,
        typer.Option(
            "--llm-planner/--no-llm-planner",
            envvar="PLANNER_LLM_PLANNER",
            help="Let the judge model split questions into tasks. Default: on unless the "
            "judge is the local 135M model.",
        ),
    ] = None,
    partitions: Annotated[
        int,
        typer.Option(
            min=1,
            envvar="MOE_PARTITIONS",
            help="Partitions of each request-keyed topic: how many instances of one "
            "service can share its load.",
        ),
    ] = DEFAULT_REQUEST_PARTITIONS,
) -> None:
    """Start broker, graph DB, model server and services; Ctrl-C stops them all."""
    try:
        config = StackConfig(
            broker_port=broker_port,
            controller_port=controller_port,
            kafka_bootstrap=kafka_bootstrap,
            state_dir=state_dir,
            fresh=fresh,
            retention_hours=retention_hours,
            graph_port=graph_port,
            bolt_port=bolt_port,
            llm_port=llm_port,
            gateway_port=gateway_port,
            tools_port=tools_port,
            ingest_port=ingest_port,
            log_dir=log_dir,
            start_llm=llm,
            inference_servers=_servers(inference_servers),
            model=model,
            expert_models=_expert_models(expert_models),
            judge_model=judge_model,
            judge_endpoint=judge_endpoint,
            llm_planner=llm_planner,
            partitions=partitions,
        )
    except ValidationError as exc:
        errors.print("[bold red]Invalid configuration:[/bold red]")
        for error in exc.errors(include_url=False):
            where = ".".join(str(part) for part in error["loc"]) or exc.title
            errors.print(f"  {where}: {error['msg']}", highlight=False)
        raise typer.Exit(2) from exc
    try:
        _serve(config)
    except StackError as exc:
        errors.print("[bold red]The local stack did not start:[/bold red]")
        errors.print(str(exc), markup=False, highlight=False)  # log tails are not markup
        raise typer.Exit(1) from exc
    console.print("[green]Stopped.[/green]")


def _serve(config: StackConfig) -> None:
    if console.is_terminal:
        with RichObserver(console) as observer:
            asyncio.run(LocalStack(config, observer).serve())
    else:  # no live display without a terminal: log lines, then the summary
        asyncio.run(LocalStack(config, _PlainObserver()).serve())


class _PlainObserver(LogObserver):
    def ready(self, stack: LocalStack) -> None:
        super().ready(stack)
        console.print(ready_panel(stack))


if __name__ == "__main__":
    app()

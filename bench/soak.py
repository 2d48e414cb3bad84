"""`make soak`, `moe soak`, `python -m bench.soak`: drive the running local stack for a
bounded time with a realistic mix (bench.soak_mix) and print, minute by minute,
throughput, errors by kind, latency percentiles, each stack process's RSS and CPU, and
the consumer groups' state and lag (bench.soak_run). Exits 1 if the error share passes
the limit or a minute served no request; 2 if the gateway is not a running local stack."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated

import structlog
import typer
from rich.console import Console

from bench.soak_config import NotAStack, SoakConfig
from bench.soak_mix import PROFILES

console = Console(highlight=False, soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)


def soak_command(
    minutes: Annotated[float, typer.Option(min=0.1, help="How long to drive the stack.")] = 10.0,
    gateway_url: Annotated[
        str, typer.Option(help="The running gateway (loopback only).")
    ] = "http://127.0.0.1:8000",
    seed: Annotated[int, typer.Option(help="Seed of the request mix and pacing.")] = 1,
    profile: Annotated[
        str,
        typer.Option(
            help="mix: experts, tools, cache hits, pairs, idle gaps; "
            "trickle: back to back, one at a time, short answers and calculate."
        ),
    ] = "mix",
    max_error_share: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Fail above this share of errors.")
    ] = 0.01,
    timeout: Annotated[float, typer.Option(help="Client timeout per request, seconds.")] = 150.0,
    jsonl: Annotated[
        Path | None, typer.Option(help="Append each minute's figures as a JSON line.")
    ] = None,
    lag: Annotated[
        bool, typer.Option("--lag/--no-lag", help="Report consumer groups' state and lag.")
    ] = True,
    bootstrap: Annotated[
        str | None, typer.Option(help="Broker for the lag probe (default: the stack's).")
    ] = None,
) -> None:
    """Drive the running local stack for a bounded time; print per-minute figures."""
    if profile not in PROFILES:
        errors.print(f"unknown profile {profile!r}; choose from {', '.join(PROFILES)}")
        raise typer.Exit(2)
    config = SoakConfig(
        minutes=minutes,
        gateway_url=gateway_url,
        seed=seed,
        profile=profile,
        max_error_share=max_error_share,
        timeout_s=timeout,
        jsonl=jsonl,
        lag=lag,
        bootstrap=bootstrap,
    )
    # Imported here: `moe` loads this module for its help; the run needs the dev extras
    # (the openai client, psutil).
    from bench.soak_report import show_verdict
    from bench.soak_run import soak

    try:
        _, result = asyncio.run(soak(config, console))
    except NotAStack as exc:
        errors.print(f"[bold red]soak:[/bold red] {exc}")
        raise typer.Exit(2) from exc
    show_verdict(result, config.max_error_share, console)
    if not result.passed:
        raise typer.Exit(1)


def main() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    typer.run(soak_command)


if __name__ == "__main__":
    main()

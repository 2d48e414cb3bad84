"""The soak's figures: one record per minute (throughput, errors by kind, latency
percentiles, each process's RSS and CPU, consumer lag), a printed line for each, and
the verdict over the whole run."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict
from rich.console import Console

from bench.soak_client import Outcome
from bench.soak_lag import GroupView
from bench.soak_mix import Kind
from bench.soak_procs import Usage


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


class Minute(BaseModel):
    model_config = ConfigDict(frozen=True)

    minute: int
    requests: int
    ok: int
    errors: dict[str, int]
    by_kind: dict[str, int]
    cache_hits: int
    """Repeated model questions answered without any model token."""
    idle_gaps: int
    """Pauses longer than the client's keep-alive expiry that began in this minute."""
    per_s: float
    p50_s: float | None
    p99_s: float | None
    max_s: float | None
    ttft_p50_s: float | None
    kind_p50_s: dict[str, float] = {}
    """Median latency of the successes of each kind (a tool answer takes milliseconds
    on a healthy stack: slow ones point at the broker, not the model)."""
    processes: dict[str, Usage]
    groups: dict[str, GroupView] = {}
    """Consumer groups: state, members, and lag (messages not yet committed)."""


@dataclass
class MinuteBucket:
    """Outcomes finishing within one minute of the run."""

    index: int
    outcomes: list[Outcome] = field(default_factory=list)
    idle_gaps: int = 0

    def close(
        self, seconds: float, processes: dict[str, Usage], groups: dict[str, GroupView]
    ) -> Minute:
        ok = [o for o in self.outcomes if o.ok]
        latencies = [o.latency_s for o in ok]
        ttfts = [o.ttft_s for o in ok if o.ttft_s is not None]
        hits = sum(1 for o in ok if _model_answer_from_cache(o))

        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 3)

        kinds = {str(o.ask.kind) for o in ok}
        kind_p50 = {
            kind: round(percentile([o.latency_s for o in ok if o.ask.kind == kind], 50) or 0, 3)
            for kind in sorted(kinds)
        }

        return Minute(
            minute=self.index,
            requests=len(self.outcomes),
            ok=len(ok),
            errors=dict(Counter(o.error for o in self.outcomes if o.error)),
            by_kind=dict(Counter(str(o.ask.kind) for o in self.outcomes)),
            cache_hits=hits,
            idle_gaps=self.idle_gaps,
            per_s=round(len(ok) / seconds, 2) if seconds > 0 else 0.0,
            p50_s=rounded(percentile(latencies, 50)),
            p99_s=rounded(percentile(latencies, 99)),
            max_s=rounded(max(latencies, default=None)),
            ttft_p50_s=rounded(percentile(ttfts, 50)),
            kind_p50_s=kind_p50,
            processes=processes,
            groups=groups,
        )


def _model_answer_from_cache(outcome: Outcome) -> bool:
    """A repeated model question (tool questions carry no max_tokens) answered without
    any model token: the answer cache served it."""
    ask = outcome.ask
    return ask.kind is Kind.REPEAT and ask.max_tokens is not None and outcome.completion_tokens == 0


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.0f}ms" if value < 1 else f"{value:.2f}s"


def header() -> str:
    return (
        f"{'min':>3} {'ok':>4} {'err':>4} {'ok/s':>5} {'p50':>7} {'p99':>7} {'max':>7}"
        f" {'ttft50':>7} {'hits':>4} {'gaps':>4}  errors"
    )


def line(minute: Minute) -> str:
    errors = ", ".join(f"{kind} {n}" for kind, n in sorted(minute.errors.items())) or "-"
    head = (
        f"{minute.minute:>3} {minute.ok:>4} {minute.requests - minute.ok:>4}"
        f" {minute.per_s:>5.2f} {_seconds(minute.p50_s):>7} {_seconds(minute.p99_s):>7}"
        f" {_seconds(minute.max_s):>7} {_seconds(minute.ttft_p50_s):>7}"
        f" {minute.cache_hits:>4} {minute.idle_gaps:>4}  {errors}"
    )
    procs = "  ".join(
        f"{name} {u.rss_mb:.0f}MB {u.cpu_pct:.0f}%" for name, u in minute.processes.items()
    )
    kinds = "  ".join(f"{kind} {_seconds(p50)}" for kind, p50 in minute.kind_p50_s.items())
    parts = [
        head,
        f"    p50 by kind: {kinds or '-'}",
        f"    rss/cpu: {procs}" if procs else "    rss/cpu: (stack processes not found)",
    ]
    if minute.groups:
        views = (f"{g} {v.state}/{v.members} lag {v.lag}" for g, v in sorted(minute.groups.items()))
        parts.append("    groups: " + "  ".join(views))
    return "\n".join(parts)


class Verdict(BaseModel):
    model_config = ConfigDict(frozen=True)

    requests: int
    errors: int
    error_share: float
    minutes_without_success: list[int]
    passed: bool


def verdict(minutes: list[Minute], max_error_share: float) -> Verdict:
    requests = sum(m.requests for m in minutes)
    errors = sum(m.requests - m.ok for m in minutes)
    share = errors / requests if requests else 1.0
    empty = [m.minute for m in minutes if m.ok == 0]
    passed = requests > 0 and share <= max_error_share and not empty
    return Verdict(
        requests=requests,
        errors=errors,
        error_share=round(share, 4),
        minutes_without_success=empty,
        passed=passed,
    )


def show_verdict(result: Verdict, max_error_share: float, console: Console) -> None:
    status = "[green]passed[/green]" if result.passed else "[bold red]failed[/bold red]"
    console.print(
        f"soak {status}: {result.requests} requests, {result.errors} errors "
        f"({100 * result.error_share:.2f}%, limit {100 * max_error_share:.2f}%), "
        f"minutes without a success: {result.minutes_without_success or 'none'}"
    )

"""The issue's targets, each judged against this run's figures. A target whose figure
was not measured is neither met nor missed (met = None) and says why."""

from __future__ import annotations

from bench.report import (
    CacheHit,
    FullPipeline,
    LiteLLMSide,
    RelayDelay,
    SingleExpert,
    Target,
    Throughput,
)

MIN_RPS_AT_TOP = 100.0


def _at_most(name: str, value: float | None, limit: float, unit: str, note: str = "") -> Target:
    met = None if value is None else value <= limit
    return Target(
        name=name,
        limit=f"<= {limit:g} {unit}",
        value=value,
        unit=unit,
        met=met,
        note=note or ("not measured" if value is None else None),
    )


def evaluate(
    single: SingleExpert,
    relay: RelayDelay,
    cache: CacheHit,
    pipeline: FullPipeline,
    throughput: Throughput,
    litellm: LiteLLMSide,
) -> list[Target]:
    targets = [
        _at_most("single-expert TTFT added, p50", single.ttft.added_ms.p50, 15, "ms"),
        _at_most("single-expert TTFT added, p99", single.ttft.added_ms.p99, 40, "ms"),
        _at_most("per-token relay delay, p99", relay.ours.p99, 10, "ms"),
        _at_most("tokens per SSE event (no batching)", relay.max_tokens_per_event, 1, "tokens"),
        _at_most("cache hit end to end, p50", cache.total.measured.p50, 15, "ms"),
    ]
    measured = pipeline.total.measured.p50
    limit = pipeline.limit_p50_ms
    targets.append(
        Target(
            name="full pipeline total, p50 (3 tasks + synthesis)",
            limit="<= 1.2 x critical path + 50 ms"
            + (f" = {limit:.1f} ms" if limit is not None else ""),
            value=measured,
            unit="ms",
            met=None if measured is None or limit is None else measured <= limit,
            note="critical path: slowest task, then the judge",
        )
    )
    gateway_runs = [run for run in throughput.runs if run.path == "gateway"]
    top = max(gateway_runs, key=lambda run: run.concurrency, default=None)
    if top is not None:
        targets.append(
            Target(
                name=f"throughput at concurrency {top.concurrency}",
                limit=f">= {MIN_RPS_AT_TOP:g} req/s",
                value=top.requests_per_s,
                unit="req/s",
                met=top.requests_per_s >= MIN_RPS_AT_TOP,
            )
        )
    errors = sum(run.errors for run in gateway_runs)
    targets.append(_at_most("errors under load (all levels)", float(errors), 0, "errors"))
    reason = litellm.reason or "not measured"
    for label, ratio in (
        ("TTFT", litellm.ours_over_litellm_added_ttft),
        ("total", litellm.ours_over_litellm_added_total),
    ):
        value = ratio.p50 if ratio is not None else None
        note = "ours added / LiteLLM added" if value is not None else reason
        targets.append(_at_most(f"added {label} vs LiteLLM's, p50", value, 1.0, "x", note))
    return targets

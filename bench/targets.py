"""The issue's targets, each judged against this run's figures. A target whose figure
was not measured is neither met nor missed (met = None) and says why."""

from __future__ import annotations

from bench.report import (
    CacheHit,
    FullPipeline,
    LiteLLMSide,
    PlannerPaths,
    Planning,
    RelayDelay,
    SingleExpert,
    StackCost,
    Target,
    Throughput,
    TierEscalation,
)

MIN_RPS_AT_TOP = 100.0
# Issue 19 (Apache Kafka): relative to this run's baselines, no lower than on Tansu.
MAX_TTFT_VS_LITELLM = 0.9
MIN_TOP_VS_LITELLM = 2.2
MIN_TOP_VS_DIRECT = 0.20
MAX_IDLE_STACK_PCT = 5.0


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
    stack: StackCost | None = None,
    escalation: TierEscalation | None = None,
    planning: Planning | None = None,
    planner_paths: PlannerPaths | None = None,
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
            name="full pipeline total, p50 (3 tasks + thinking + synthesis)",
            limit="<= 1.2 x critical path + 50 ms"
            + (f" = {limit:.1f} ms" if limit is not None else ""),
            value=measured,
            unit="ms",
            met=None if measured is None or limit is None else measured <= limit,
            note="critical path: slowest task, then the thinking call, then the judge",
        )
    )
    if escalation is not None:
        measured, limit = escalation.total.measured.p50, escalation.limit_p50_ms
        targets.append(
            Target(
                name="tier escalation total, p50 (tier 1 unsure, then tier 2)",
                limit="<= 1.2 x critical path + 50 ms"
                + (f" = {limit:.1f} ms" if limit is not None else ""),
                value=measured,
                unit="ms",
                met=None if measured is None or limit is None else measured <= limit,
                note="critical path: the task's call, then the same call again",
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
    for label, ratio, limit in (
        ("TTFT", litellm.ours_over_litellm_added_ttft, MAX_TTFT_VS_LITELLM),
        ("total", litellm.ours_over_litellm_added_total, 1.0),
    ):
        value = ratio.p50 if ratio is not None else None
        note = "ours added / LiteLLM added" if value is not None else reason
        targets.append(_at_most(f"added {label} vs LiteLLM's, p50", value, limit, "x", note))
    litellm_p99 = relay.litellm.p99 if relay.litellm is not None else None
    if litellm_p99 is not None:
        targets.append(
            _at_most("per-token relay delay p99 vs LiteLLM's", relay.ours.p99, litellm_p99, "ms")
        )
    targets += _relative_throughput(throughput)
    if stack is not None:
        targets.append(
            _at_most(
                f"idle stack CPU over {stack.idle_seconds:g} s (broker + services)",
                stack.idle_cpu_pct,
                MAX_IDLE_STACK_PCT,
                "% of a core",
            )
        )
    if planning is not None:
        targets += _planning(planning)
    if planner_paths is not None:
        targets += planner_paths_targets(planner_paths)
    return targets


MAX_ROUTER_DECISION_MS = 5.0
MAX_PRECISION_VS_CALCULATE = 1.2


def _planning(planning: Planning) -> list[Target]:
    """Issue 8: the router decides within 5 ms; a precision-routed tool answers within
    the calculate path's latency; identical concurrent requests make one model call."""
    ratio = planning.precision.ratio.p50
    return [
        _at_most(
            "router decision (embedding + nearest prototype), p50",
            planning.router_decision.p50,
            MAX_ROUTER_DECISION_MS,
            "ms",
        ),
        _at_most(
            "precision-routed tool answer vs calculate path, p50",
            ratio,
            MAX_PRECISION_VS_CALCULATE,
            "x",
            "units, gcd, dates, hashes, weekdays / calculate" if ratio is not None else "",
        ),
        _at_most(
            f"model calls for {planning.coalesced_requests} identical concurrent requests",
            float(planning.coalesced_model_calls),
            1,
            "calls",
        ),
    ]


MAX_SEMANTIC_VS_EXACT = 2.0
PLANNED_TTFT_ALLOWANCE_MS = 25.0


def planner_paths_targets(paths: PlannerPaths) -> list[Target]:
    """Issue 8: a semantic cache hit within 2x the exact hit; the LLM planner's time to
    first token within the planner and expert model times plus 25 ms."""
    hit, ttft = paths.semantic_hit, paths.planned_ttft
    ratio = hit.ratio.p50 if hit is not None else None
    semantic = _at_most(
        "semantic cache hit vs exact hit, end to end, p50",
        ratio,
        MAX_SEMANTIC_VS_EXACT,
        "x",
        f"paraphrases / exact repeats{_errors(paths.semantic_errors)}"
        if ratio is not None
        else paths.reason or "",
    )
    measured, limit = (ttft.measured.p50 if ttft else None), paths.planned_limit_p50_ms
    errors = _errors(paths.planned_errors)
    planned = Target(
        name="LLM-planner path TTFT, p50",
        limit=f"<= planner + expert model time + {PLANNED_TTFT_ALLOWANCE_MS:g} ms"
        + (f" = {limit:.1f} ms" if limit is not None else ""),
        value=measured,
        unit="ms",
        met=None if measured is None or limit is None else measured <= limit,
        note=f"model time: the plan, then the expert's first token, asked directly{errors}"
        if measured is not None
        else paths.reason or "not measured",
    )
    return [semantic, planned]


def _errors(count: int) -> str:
    return f"; {count} errors" if count else ""


def _relative_throughput(throughput: Throughput) -> list[Target]:
    """Requests/s at the top concurrency over LiteLLM's and over the model's own."""
    top = max((run.concurrency for run in throughput.runs), default=None)
    rates = {run.path: run.requests_per_s for run in throughput.runs if run.concurrency == top}
    ours = rates.get("gateway")
    found = []
    for path, floor in (("litellm", MIN_TOP_VS_LITELLM), ("direct", MIN_TOP_VS_DIRECT)):
        theirs = rates.get(path)
        value = round(ours / theirs, 3) if ours is not None and theirs else None
        found.append(
            Target(
                name=f"throughput at concurrency {top} vs {path}",
                limit=f">= {floor:g} x",
                value=value,
                unit="x",
                met=None if value is None else value >= floor,
                note="not measured" if value is None else None,
            )
        )
    return found

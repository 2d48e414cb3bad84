"""From raw samples to the report's sections."""

from __future__ import annotations

from bench.breakdown import Stage
from bench.cache_hit import QUESTION
from bench.config import BenchConfig
from bench.latency import PathSamples
from bench.report import (
    CacheHit,
    FullPipeline,
    LiteLLMSide,
    RelayDelay,
    SingleExpert,
    TierEscalation,
    ToolPath,
)
from bench.stats import Compared, Distribution, Percentiles
from bench.tool_path import QUESTION as TOOL_QUESTION


def compare(measured: list[float], baseline: list[float]) -> Compared:
    return Compared.of(Distribution.of_seconds(measured), Distribution.of_seconds(baseline))


def single_expert(
    config: BenchConfig, paths: dict[str, PathSamples], stages: list[Stage]
) -> SingleExpert:
    ours, direct = paths["gateway"], paths["direct"]
    return SingleExpert(
        model=config.latency_model,
        requests=config.latency_requests,
        errors=ours.errors,
        ttft=compare(ours.ttft, direct.ttft),
        total=compare(ours.total, direct.total),
        ttft_breakdown=stages,
    )


def relay_delay(paths: dict[str, PathSamples]) -> RelayDelay:
    litellm = paths.get("litellm")
    return RelayDelay(
        ours=Distribution.of_seconds(paths["gateway"].relay),
        direct=Distribution.of_seconds(paths["direct"].relay),
        litellm=Distribution.of_seconds(litellm.relay) if litellm else None,
        max_tokens_per_event=paths["gateway"].max_tokens_per_event,
    )


def _added_ratio(ours: Compared, theirs: Compared) -> Percentiles:
    """Our added latency over LiteLLM's, per percentile; None where LiteLLM added
    nothing measurable (a ratio to ~0 means nothing)."""
    figures: dict[str, float | None] = {}
    for name in ("p50", "p95", "p99"):
        mine, other = getattr(ours.added_ms, name), getattr(theirs.added_ms, name)
        usable = mine is not None and other is not None and other > 0.05
        figures[name] = round(mine / other, 3) if usable else None
    return Percentiles(**figures)


def litellm_side(
    single: SingleExpert,
    paths: dict[str, PathSamples],
    reason: str | None,
    version: str | None,
) -> LiteLLMSide:
    samples = paths.get("litellm")
    if samples is None:
        return LiteLLMSide(available=False, reason=reason or "not measured")
    direct = paths["direct"]
    ttft, total = compare(samples.ttft, direct.ttft), compare(samples.total, direct.total)
    return LiteLLMSide(
        available=True,
        version=version,
        errors=samples.errors,
        ttft=ttft,
        total=total,
        ours_over_litellm_added_ttft=_added_ratio(single.ttft, ttft),
        ours_over_litellm_added_total=_added_ratio(single.total, total),
    )


def cache_hit(
    paths: dict[str, PathSamples], hits: PathSamples, model_calls: int, floor: Distribution
) -> CacheHit:
    hops = CacheHit.model_fields["hops"].default
    return CacheHit(
        question=QUESTION,
        requests=len(hits.total) + hits.errors,
        errors=hits.errors,
        model_calls=model_calls,
        total=compare(hits.total, paths["direct"].total),
        floor_estimate_ms=round(hops * floor.p50, 3) if floor.p50 is not None else None,
    )


def tool_path(
    config: BenchConfig,
    gateway: PathSamples,
    direct: PathSamples,
    model_calls: int,
    floor: Distribution,
) -> ToolPath:
    hops = ToolPath.model_fields["hops"].default
    return ToolPath(
        question=TOOL_QUESTION,
        requests=config.tool_requests,
        errors=gateway.errors + direct.errors,
        model_calls=model_calls,
        total=compare(gateway.total, direct.total),
        floor_estimate_ms=round(hops * floor.p50, 3) if floor.p50 is not None else None,
    )


def full_pipeline(
    config: BenchConfig, totals: list[float], critical: list[float], errors: int
) -> FullPipeline:
    compared = compare(totals, critical)
    base = compared.baseline.p50
    slowest = max(task.model_ms for task in config.pipeline_tasks)
    return FullPipeline(
        tasks=list(config.pipeline_tasks),
        synthesis_model=config.synthesis_model,
        critical_path_nominal_ms=slowest + 2 * config.synthesis_model.model_ms,
        requests=config.pipeline_requests,
        errors=errors,
        total=compared,
        limit_p50_ms=round(1.2 * base + 50, 3) if base is not None else None,
    )


def tier_escalation(
    config: BenchConfig, totals: list[float], critical: list[float], errors: int
) -> TierEscalation:
    compared = compare(totals, critical)
    base = compared.baseline.p50
    return TierEscalation(
        task_model=config.escalation_model,
        critical_path_nominal_ms=2 * config.escalation_model.model_ms,
        requests=config.escalation_requests,
        errors=errors,
        total=compared,
        limit_p50_ms=round(1.2 * base + 50, 3) if base is not None else None,
    )

"""The planner's paths that the main bench stack leaves off on purpose (its questions are
paraphrases of each other, and its scripted judge would plan them), measured after it
in a stack of their own (bench.planner_stack):

- a semantic cache hit end to end: fresh paraphrases of a question whose long answer
  both caches keep, against exact repeats of that question, interleaved in one loop;
- the LLM planner's path: streamed time to first token of vague questions, each new,
  against the planner model's whole plan and then the expert's first token, both asked
  directly (the model time the path cannot avoid), in alternating order.

A timed request that reached a model it should not have (or not the ones it should)
counts as an error. Run on its own, the counts defaulting to the bench's:
`python -m bench.planner_paths [semantic requests] [planned requests]`."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import structlog

from bench.breakdown import EventRecorder, Stage, ttft_breakdown
from bench.cache_hit import wait_until_cached
from bench.client import Endpoint, Timing, new_client, timed_chat
from bench.config import WARM_UP_CONCURRENCY, BenchConfig
from bench.planner_questions import ANSWER, CACHED, PLAN, answer_tokens, paraphrases, vague
from bench.planner_stack import EXPERT_MODEL, PLANNER_MODEL, PlannerStack, planner_stack
from bench.report import PlannerPaths
from bench.stats import Compared, Distribution
from bench.targets import PLANNED_TTFT_ALLOWANCE_MS
from bench.tool_path import next_expression, wait_for_tool_route
from deploy.local.errors import StackError
from services.planner.llm_planner import RULES

log = structlog.get_logger("bench")
SEMANTIC_WAIT_S = 30.0
TOOL_ROUTE_WAIT_S = 30.0  # the planner learns the tool catalog by polling the tools service
SEMANTIC_POLL_S = 0.2


@dataclass
class Samples:
    """Seconds per request of one figure and its baseline, and what went wrong."""

    measured: list[float] = field(default_factory=list)
    baseline: list[float] = field(default_factory=list)
    errors: int = 0
    last_error: str | None = None
    calls: dict[str, int] = field(default_factory=dict)
    """Model calls the timed requests caused, by model id."""
    timings: list[Timing] = field(default_factory=list)
    """The measured requests that succeeded, for the stage breakdown."""

    def fail(self, reason: str) -> None:
        self.errors += 1
        self.last_error = reason[:300]

    def compared(self) -> Compared:
        return Compared.of(
            Distribution.of_seconds(self.measured), Distribution.of_seconds(self.baseline)
        )


def _added(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """Calls made in between, by model id (models not called left out)."""
    added = {name: count - before.get(name, 0) for name, count in after.items()}
    return {name: count for name, count in added.items() if count}


async def _counted(
    client: httpx.AsyncClient, ps: PlannerStack, question: str, samples: Samples
) -> tuple[Timing, dict[str, int]]:
    """One request through the gateway, and the model calls it caused, by model id
    (counted before and after it, outside its timing)."""
    before = await ps.control.calls_by_model()
    timing = await timed_chat(client, ps.gateway, question)
    called = _added(before, await ps.control.calls_by_model())
    for name, count in called.items():
        samples.calls[name] = samples.calls.get(name, 0) + count
    return timing, called


async def _served_from_cache(
    client: httpx.AsyncClient, ps: PlannerStack, question: str, samples: Samples
) -> float | None:
    """Seconds to the whole cached answer; None (an error) when a model was called."""
    timing, called = await _counted(client, ps, question, samples)
    if not timing.ok or called or timing.content != ANSWER:
        samples.fail(f"{question!r}: {timing.error or called or timing.content[:80]!r}")
        return None
    return timing.total_s


async def wait_for_semantic_hit(
    client: httpx.AsyncClient, ps: PlannerStack, fresh: Iterator[str]
) -> None:
    """The semantic cache's writer trails moe.answers (its own consumer group): fresh
    paraphrases until one is served without a model call."""
    deadline = time.monotonic() + SEMANTIC_WAIT_S
    for paraphrase in fresh:
        before = await ps.control.calls()
        timing = await timed_chat(client, ps.gateway, paraphrase)
        if timing.ok and await ps.control.calls() == before:
            return
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(SEMANTIC_POLL_S)
    raise TimeoutError(f"no paraphrase of {CACHED!r} was served by the semantic cache")


async def measure_semantic_hit(
    client: httpx.AsyncClient, ps: PlannerStack, requests: int
) -> Samples:
    """Paraphrases (measured) and exact repeats (baseline), once both caches serve."""
    expert = {"tokens": answer_tokens(ANSWER)}
    await ps.control.script(expert, {PLANNER_MODEL: {"tokens": [PLAN]}})
    await wait_until_cached(client, ps.gateway, ps.control.calls, 30, CACHED)
    fresh = paraphrases()
    await wait_for_semantic_hit(client, ps, fresh)
    samples = Samples()
    for index in range(requests):
        paraphrase = next(fresh, None)
        if paraphrase is None:
            raise TimeoutError("the semantic cache took so long that the paraphrases ran out")
        for exact in (index % 2 == 0, index % 2 == 1):  # drift affects both alike
            question = CACHED if exact else paraphrase
            seconds = await _served_from_cache(client, ps, question, samples)
            if seconds is not None:
                (samples.baseline if exact else samples.measured).append(seconds)
    return samples


async def direct_planned(
    client: httpx.AsyncClient, ps: PlannerStack, question: str
) -> float | None:
    """Seconds to the planner model's whole plan (asked as the planner asks: not
    streamed), then to the expert's first streamed token."""
    system = RULES.format(categories="general", tools="(none)")
    body = {
        "model": PLANNER_MODEL,
        "stream": False,
        "temperature": 0,
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": question}],
    }
    started = time.perf_counter()
    response = await client.post(f"{ps.scripted_url}/chat/completions", json=body)
    planned = time.perf_counter() - started
    if response.status_code != 200:
        return None
    expert = await timed_chat(client, Endpoint("direct", ps.scripted_url, EXPERT_MODEL), question)
    return None if expert.ttft_s is None else planned + expert.ttft_s


async def _planned_ttft(
    client: httpx.AsyncClient, ps: PlannerStack, question: str, samples: Samples
) -> float | None:
    """Seconds to the first token; None (an error) unless the planner model and the
    expert were called once each."""
    timing, called = await _counted(client, ps, question, samples)
    if not timing.ok or timing.ttft_s is None or called != {PLANNER_MODEL: 1, EXPERT_MODEL: 1}:
        samples.fail(f"{question!r}: {timing.error or called}")
        return None
    samples.timings.append(timing)
    return timing.ttft_s


async def measure_planned_ttft(
    client: httpx.AsyncClient, ps: PlannerStack, config: BenchConfig
) -> tuple[Samples, list[Stage]]:
    """The samples, and where the gateway's time to first token went (its stage "to
    planner" includes the planner model's call)."""
    # Stamped tokens (for the breakdown), and short answers: under the semantic cache's
    # minimum, so that no answer is kept by meaning (the made-up words make the
    # questions near neighbours of each other).
    expert = config.planned_expert_model.script(stamp_tokens=True)
    planner = {"tokens": [PLAN], "first_token_delay_s": config.planner_model_ms / 1000}
    await ps.control.script(expert, {PLANNER_MODEL: planner})
    samples, warm_up = Samples(), Samples()
    for number in range(2):  # connections, and the planner model's client
        await _planned_ttft(client, ps, vague(number), warm_up)
        await direct_planned(client, ps, vague(number))
    recorder = EventRecorder(ps.bootstrap)
    await recorder.mark()
    try:
        for index in range(config.planned_requests):
            question = vague(index + 2)
            for through_gateway in (index % 2 == 0, index % 2 == 1):
                if through_gateway:
                    seconds = await _planned_ttft(client, ps, question, samples)
                else:
                    seconds = await direct_planned(client, ps, question)
                if seconds is not None:
                    (samples.measured if through_gateway else samples.baseline).append(seconds)
    finally:
        delay_s = config.planned_expert_model.first_token_delay_ms / 1000
        stages = await ttft_breakdown(recorder, samples.timings, delay_s)
    return samples, stages


def report(
    config: BenchConfig, semantic: Samples, planned: Samples, stages: list[Stage] | None = None
) -> PlannerPaths:
    ttft = planned.compared()
    base = ttft.baseline.p50
    return PlannerPaths(
        measured=True,
        cached_question=CACHED,
        semantic_requests=config.semantic_requests,
        semantic_errors=semantic.errors,
        semantic_model_calls=sum(semantic.calls.values()),
        semantic_hit=semantic.compared(),
        planner_model_ms=config.planner_model_ms,
        expert_model=config.planned_expert_model,
        planned_requests=config.planned_requests,
        planned_errors=planned.errors,
        planner_model_calls=planned.calls.get(PLANNER_MODEL, 0),
        expert_model_calls=planned.calls.get(EXPERT_MODEL, 0),
        planned_ttft=ttft,
        planned_limit_p50_ms=None if base is None else round(base + PLANNED_TTFT_ALLOWANCE_MS, 3),
        planned_ttft_breakdown=stages or [],
        last_error=semantic.last_error or planned.last_error,
    )


async def warm_up(client: httpx.AsyncClient, ps: PlannerStack, requests: int) -> None:
    """Arithmetic through every hop (gateway, planner, tools, merger), no model call,
    WARM_UP_CONCURRENCY at a time. A fresh broker's JVM compiles its produce and fetch
    paths over its first few thousand requests (bench.config: warm_up_seconds); the
    main stack is timed warm too."""
    await wait_for_tool_route(client, ps.gateway, TOOL_ROUTE_WAIT_S)
    left = iter(range(requests))

    async def one_client() -> None:
        for _ in left:
            expression, _ = next_expression()
            await timed_chat(client, ps.gateway, f"What is {expression}?")

    await asyncio.gather(*(one_client() for _ in range(WARM_UP_CONCURRENCY)))


ChartPanels = dict[str, dict[str, list[float]]]
"""Panel title -> series name -> samples in seconds (bench.chart draws them)."""


async def measure_planner_paths(
    config: BenchConfig, chart: ChartPanels | None = None
) -> PlannerPaths:
    """The section's report; with `chart`, its two rows' samples are added there."""
    if not config.planner_paths:
        skipped = (
            "--no-planner-paths" if not config.quick else "not in --quick mode (--planner-paths)"
        )
        return PlannerPaths(measured=False, reason=skipped)
    log_dir = config.log_dir.resolve() / "planner-paths"
    try:
        async with planner_stack(log_dir) as ps, new_client() as client:
            log.info("phase", name="planner paths warm-up", requests=config.paths_warm_up_requests)
            await warm_up(client, ps, config.paths_warm_up_requests)
            log.info("phase", name="semantic cache hit", requests=config.semantic_requests)
            semantic = await measure_semantic_hit(client, ps, config.semantic_requests)
            log.info("phase", name="LLM planner TTFT", requests=config.planned_requests)
            planned, stages = await measure_planned_ttft(client, ps, config)
    except (StackError, TimeoutError) as exc:  # the main stack's figures are still worth a report
        log.warning("planner_paths_failed", error=f"{type(exc).__name__}: {exc}")
        return PlannerPaths(measured=False, reason=f"failed: {type(exc).__name__}: {exc}"[:300])
    if chart is not None:
        chart["semantic cache hit (its own stack)"] = {
            "paraphrase": semantic.measured,
            "exact repeat": semantic.baseline,
        }
        chart["LLM planner: time to first token"] = {
            "through the pipeline": planned.measured,
            "planner model, then expert, direct": planned.baseline,
        }
    return report(config, semantic, planned, stages)


def _summary(paths: PlannerPaths) -> str:
    hit, ttft = paths.semantic_hit, paths.planned_ttft
    assert hit is not None and ttft is not None
    return (
        f"semantic hit p50/p99 {hit.measured.p50}/{hit.measured.p99} ms, exact hit "
        f"{hit.baseline.p50}/{hit.baseline.p99} ms (ratio p50 {hit.ratio.p50}), errors "
        f"{paths.semantic_errors}, model calls {paths.semantic_model_calls}\n"
        f"LLM-planner TTFT p50/p99 {ttft.measured.p50}/{ttft.measured.p99} ms, planner + "
        f"expert direct {ttft.baseline.p50}/{ttft.baseline.p99} ms (added p50 "
        f"{ttft.added_ms.p50}, limit {paths.planned_limit_p50_ms}), errors "
        f"{paths.planned_errors}, planner calls {paths.planner_model_calls}, expert calls "
        f"{paths.expert_model_calls}\nlast error: {paths.last_error}\nLLM-planner TTFT, p50 ms: "
        + ", ".join(f"{s.name} {s.latency.p50}" for s in paths.planned_ttft_breakdown)
    )


if __name__ == "__main__":
    names = ("semantic_requests", "planned_requests")
    counts = {name: int(arg) for name, arg in zip(names, sys.argv[1:3], strict=False)}
    config = BenchConfig(**counts, log_dir=Path(".stack/bench/planner-paths"))
    print(_summary(asyncio.run(measure_planner_paths(config))))

"""What one benchmark run does: request counts, the scripted model's timings for each
scenario, concurrency levels. `quick()` is the reduced mode the test suite runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

RESULTS_DIR = Path(__file__).resolve().parent / "results"
WARM_UP_CONCURRENCY = 8
"""Requests in flight while a stack warms up, untimed, before it is measured."""


class ModelTiming(BaseModel):
    """The scripted model's behaviour for one call: known, so model time is exact."""

    model_config = ConfigDict(frozen=True)

    tokens: int = Field(ge=1)
    first_token_delay_ms: float = Field(ge=0)
    token_gap_ms: float = Field(ge=0)

    @property
    def model_ms(self) -> float:
        """Time from the call to the last token, as the model produces it."""
        return self.first_token_delay_ms + (self.tokens - 1) * self.token_gap_ms

    def script(self, stamp_tokens: bool = True) -> dict[str, Any]:
        """Body for the scripted server's control endpoint (or a SCRIPT{...} override)."""
        return {
            "tokens": [f" w{index}" for index in range(self.tokens)],
            "first_token_delay_s": self.first_token_delay_ms / 1000,
            "token_gap_s": self.token_gap_ms / 1000,
            "stamp_tokens": stamp_tokens,
        }


class BenchConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    quick: bool = False
    latency_requests: int = Field(default=120, ge=1, description="Per path, sequential.")
    warmup_requests: int = Field(default=8, ge=1)
    warm_up_seconds: float = Field(
        default=25.0,
        ge=0,
        description="Our path (the gateway's) at concurrency 8 before anything is timed; "
        "the direct and LiteLLM paths get at most 5 s. A fresh broker's JVM compiles its "
        "produce and fetch paths over its first few thousand requests: measured here, "
        "produce->consume took 2.7 ms p50 (8.0 p99) fresh, 0.9 after 500 requests, "
        "0.5-0.8 after 1,200, with the p99 at 1.1-1.5 ms from about 3,000 on.",
    )
    lone_stream_warm_up_seconds: float = Field(
        default=30.0,
        ge=0,
        description="Our path one request at a time with the latency model, untimed, right "
        "before the single-expert rows: the JIT compiles what a lone stream runs (each "
        "fetch waiting for the next token) only once it runs it. The broker's compilers "
        "took 0.86 s of CPU during those rows' timed requests without it, 0.09 s with it "
        "(one full run each).",
    )
    latency_model: ModelTiming = ModelTiming(tokens=16, first_token_delay_ms=20, token_gap_ms=5)
    cache_requests: int = Field(default=60, ge=1)
    tool_requests: int = Field(default=60, ge=1)
    pipeline_requests: int = Field(default=25, ge=1)
    coalesce_requests: int = Field(default=8, ge=2, description="Identical, sent at once.")
    router_decisions: int = Field(default=200, ge=1, description="Timed in-process.")
    pipeline_tasks: tuple[ModelTiming, ...] = (
        ModelTiming(tokens=10, first_token_delay_ms=50, token_gap_ms=10),
        ModelTiming(tokens=8, first_token_delay_ms=100, token_gap_ms=10),
        ModelTiming(tokens=20, first_token_delay_ms=30, token_gap_ms=10),
    )
    synthesis_model: ModelTiming = Field(
        default=ModelTiming(tokens=10, first_token_delay_ms=40, token_gap_ms=5),
        description="The merger's judge call, after the pipeline's three tasks.",
    )
    escalation_requests: int = Field(default=25, ge=1)
    escalation_model: ModelTiming = Field(
        default=ModelTiming(tokens=10, first_token_delay_ms=50, token_gap_ms=10),
        description="Each expert call of the tier-escalation plan (tier 1, then tier 2).",
    )
    throughput_model: ModelTiming = ModelTiming(tokens=8, first_token_delay_ms=10, token_gap_ms=2)
    concurrency: tuple[int, ...] = (1, 8, 32)
    throughput_seconds: float = Field(default=5.0, gt=0, description="Per level and path.")
    floor_messages: int = Field(default=300, ge=1)
    hop_messages: int = Field(default=100, ge=1, description="Per FastStream hop variant.")
    idle_seconds: float = Field(
        default=30.0, gt=0, description="CPU with nothing in flight, after the load phases."
    )
    litellm: bool = True
    real_model: bool = Field(
        default=True, description="SmolLM2 on the previous and the chosen model server."
    )
    real_model_concurrency: tuple[int, ...] = (1, 2, 4)
    real_model_seconds: float = Field(default=4.0, gt=0, description="Per level, path, server.")
    real_model_max_tokens: int = Field(default=24, ge=1)
    graph: bool = Field(
        default=True, description="Graph-context rows: FalkorDB and the ingest service."
    )
    graph_requests: int = Field(default=100, ge=1, description="Per graph size and path.")
    graph_relations: int = Field(
        default=100_000, ge=0, description="Relations generated for the large graph's rows."
    )
    planner_paths: bool = Field(
        default=True,
        description="Semantic-cache hit and LLM-planner rows, in a stack of their own.",
    )
    semantic_requests: int = Field(
        default=40, ge=1, description="Exact repeats and paraphrases, each, interleaved."
    )
    planned_requests: int = Field(default=30, ge=1, description="Questions the LLM planner plans.")
    paths_warm_up_requests: int = Field(
        default=2000,
        ge=0,
        description="Tool-path questions (8 at a time) through every hop of the planner "
        "paths' fresh stack before it is timed, as the main stack is (warm_up_seconds).",
    )
    planner_model_ms: float = Field(
        default=40.0, ge=0, description="The planner model's time to its whole JSON plan."
    )
    planned_expert_model: ModelTiming = Field(
        default=ModelTiming(tokens=4, first_token_delay_ms=40, token_gap_ms=5),
        description="The planned task's expert call; its answer, token stamps included, "
        "shorter than what the semantic cache keeps.",
    )
    profile: bool = Field(default=False, description="py-spy the services at top load.")
    results_dir: Path = RESULTS_DIR
    log_dir: Path = Path(".stack/bench/logs")

    @classmethod
    def quick_mode(cls, **overrides: Any) -> BenchConfig:
        """A few requests per scenario: proves the run works end to end, in about a
        minute; its figures are not stable enough to judge targets by."""
        fields: dict[str, Any] = {
            "quick": True,
            "latency_requests": 5,
            "warmup_requests": 2,
            "warm_up_seconds": 0.5,
            "lone_stream_warm_up_seconds": 0.5,
            "cache_requests": 3,
            "tool_requests": 3,
            "pipeline_requests": 2,
            "escalation_requests": 2,
            "router_decisions": 10,
            "throughput_seconds": 1.0,
            "floor_messages": 20,
            "idle_seconds": 1.0,
            "hop_messages": 10,
            # A real model on two servers takes minutes on a shared 2-core machine.
            "real_model": False,
            "real_model_seconds": 1.0,
            "real_model_max_tokens": 12,
            "graph_requests": 5,
            "graph_relations": 2_000,
            # Another stack's start-up, as for the real model: `--planner-paths` adds it.
            "planner_paths": False,
            "semantic_requests": 3,
            "planned_requests": 3,
            "paths_warm_up_requests": 3,
        }
        return cls(**(fields | overrides))

"""The machine-readable result of one run (bench/results/latest.json). Every figure is
in milliseconds unless its name says otherwise; a figure that was not measured is null
and says why."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bench.breakdown import Stage
from bench.config import ModelTiming
from bench.memory import ProcessUsage
from bench.profiling import ServiceProfile
from bench.real_model import RealModel
from bench.stats import Compared, Distribution, Percentiles
from bench.throughput import ThroughputRun

SYNTHESIS = (
    "measured: the merger's judge streams the answer after the three tasks (scripted, "
    "its own timing); the baseline makes the same judge call directly after them"
)


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Meta(Frozen):
    commit: str | None
    commit_dirty: bool | None
    timestamp: str = Field(description="UTC, ISO 8601, when the run started.")
    cores: int
    python: str
    platform: str
    quick: bool
    wall_seconds: float
    config: dict[str, Any]


class BrokerFloor(Frozen):
    round_trip: Distribution
    messages: int
    fetch_max_wait_ms: int


class HopCost(Frozen):
    """One event through an echo service (two broker hops), by framework variant: see
    bench.hop. The difference to `raw` is what FastStream and its middlewares cost."""

    raw: Distribution
    bare: Distribution
    wire: Distribution
    services: Distribution


class SingleExpert(Frozen):
    """Gateway (measured) against the model server called directly (baseline)."""

    model: ModelTiming
    requests: int
    errors: int
    ttft: Compared
    total: Compared
    hops_to_first_token: int = 3
    hops_total: int = 5
    ttft_breakdown: list[Stage] = Field(
        default_factory=list, description="Where the time to first token goes (bench.breakdown)."
    )


class RelayDelay(Frozen):
    """Model emits a token -> the client receives it."""

    ours: Distribution
    direct: Distribution
    litellm: Distribution | None
    max_tokens_per_event: int = Field(description="1 means no token batching.")


class CacheHit(Frozen):
    """A repeated question answered by the planner's exact-match cache, no model call.
    Baseline: the model answering the question directly (the call the hit saves)."""

    question: str
    requests: int
    errors: int
    model_calls: int = Field(description="Model calls the timed requests caused: 0.")
    total: Compared
    hops: int = 2
    floor_estimate_ms: float | None


class ToolPath(Frozen):
    """Arithmetic answered by the calculate tool, no model call: a cache hit's shape,
    not a cache hit. Baseline: the tool called directly over REST."""

    label: str = "no-model path (calculate tool), not a cache hit"
    question: str
    requests: int
    errors: int
    model_calls: int
    total: Compared
    hops: int = 4
    floor_estimate_ms: float | None


class Planning(Frozen):
    """The planner's own paths. Precision: questions of other tool families (units, gcd,
    dates, hashes, weekdays) routed to their tools with no model call; baseline: the
    calculate path of this run. Coalescing: identical requests sent at once. Router: one
    decision (embedding in the embedder's thread plus the nearest prototype), timed in
    the benchmark's process with the planner's code and model."""

    precision_requests: int
    precision_errors: int
    precision: Compared
    coalesced_requests: int
    coalesced_answered: int
    coalesced_model_calls: int = Field(description="Model calls for all of them: 1.")
    router_decision: Distribution


class PlannerPaths(Frozen):
    """The planner's paths that need the semantic cache and the LLM planner, which the
    main stack leaves off: measured in a stack of their own (bench.planner_paths).
    Semantic hit: fresh paraphrases of a cached question; baseline: exact repeats of it,
    interleaved with them. LLM planner: streamed time to first token of questions only
    the planner model settles; baseline: the planner model's whole plan, then the
    expert's first token, both asked directly."""

    measured: bool
    reason: str | None = Field(default=None, description="Why it was not measured.")
    cached_question: str | None = None
    semantic_requests: int = 0
    semantic_errors: int = Field(default=0, description="Includes requests a model answered.")
    semantic_model_calls: int = Field(default=0, description="For the timed requests: 0.")
    semantic_hit: Compared | None = None
    planner_model_ms: float | None = None
    expert_model: ModelTiming | None = None
    planned_requests: int = 0
    planned_errors: int = Field(
        default=0, description="Includes requests not planned by one planner model call."
    )
    planner_model_calls: int = Field(default=0, description="For the timed requests: one each.")
    expert_model_calls: int = Field(default=0, description="For the timed requests: one each.")
    planned_ttft: Compared | None = None
    planned_limit_p50_ms: float | None = Field(
        default=None, description="Baseline p50 (planner model, then expert) + 25 ms."
    )
    planned_ttft_breakdown: list[Stage] = Field(
        default_factory=list,
        description="As the single expert's (bench.breakdown); 'to planner' includes the "
        "planner model's call.",
    )
    last_error: str | None = None


class FullPipeline(Frozen):
    """Three expert tasks in parallel, then the thinking step and the judge's synthesis,
    streamed; baseline: the same model calls made directly (the tasks concurrently, then
    the thinking call, then the judge's)."""

    tasks: list[ModelTiming]
    synthesis_model: ModelTiming
    critical_path_nominal_ms: float = Field(
        description="Slowest task's model time plus the thinking and judge calls' model "
        "times (the synthesis timing, each)."
    )
    requests: int
    errors: int = Field(description="Includes replies that were not the judge's stream.")
    total: Compared
    limit_p50_ms: float | None = Field(description="1.2 x critical path p50 + 50 ms.")
    hops: int = Field(
        default=3,
        description="Broker hops on the critical path: moe.tasks.expert, moe.results, "
        "moe.replies; the judge's HTTP call sits between the last two.",
    )
    synthesis: str = SYNTHESIS


class TierEscalation(Frozen):
    """A one-task plan whose tier-1 models (two, at once) are unsure, so tier 2 is asked;
    baseline: the task's model call made directly twice in a row."""

    task_model: ModelTiming
    critical_path_nominal_ms: float = Field(description="Twice the task's model time.")
    requests: int
    errors: int = Field(description="Includes replies that were not one passed-through answer.")
    total: Compared
    limit_p50_ms: float | None = Field(description="1.2 x critical path p50 + 50 ms.")


class LiteLLMSide(Frozen):
    available: bool
    reason: str | None = None
    version: str | None = None
    errors: int = 0
    ttft: Compared | None = None
    total: Compared | None = None
    ours_over_litellm_added_ttft: Percentiles | None = None
    ours_over_litellm_added_total: Percentiles | None = None


class Throughput(Frozen):
    model: ModelTiming
    runs: list[ThroughputRun]


class StackCost(Frozen):
    """The stack as `moe run` runs it, beyond requests: start-up, and cost at rest."""

    first_start_s: float | None = Field(description="Broker log formatted, topics, services.")
    warm_restart_s: float | None = Field(description="Stopped, then started on the same log.")
    idle_seconds: float
    idle_cpu_pct: float = Field(description="Broker and services with nothing in flight.")


class Target(Frozen):
    name: str
    limit: str
    value: float | None
    unit: str
    met: bool | None = Field(description="None: not measured (see note).")
    note: str | None = None


class GraphContextSize(Frozen):
    """A graph task through the ingest service (moe.tasks.graph -> moe.results, two
    broker hops, context cache off) against its 2-hop query run directly through the
    neo4j driver, at one graph size."""

    relations: int
    task: Compared
    errors: int
    last_error: str | None = None


class BenchReport(Frozen):
    meta: Meta
    broker_floor: BrokerFloor
    hop_cost: HopCost
    single_expert: SingleExpert
    relay_delay: RelayDelay
    cache_hit: CacheHit
    tool_path: ToolPath
    full_pipeline: FullPipeline
    tier_escalation: TierEscalation | None = Field(
        default=None, description="None in reports made before the expert tiers."
    )
    throughput: Throughput
    litellm: LiteLLMSide
    memory: list[ProcessUsage]
    cpu_ms_per_request: dict[str, float] = Field(
        description="CPU per completed request at the highest concurrency, by process."
    )
    targets: list[Target]
    profiles: list[ServiceProfile] = Field(
        default_factory=list, description="py-spy at top load (--profile only)."
    )
    real_model: RealModel | None = Field(
        default=None, description="SmolLM2 on the previous and the chosen model server."
    )
    stack: StackCost | None = None
    graph_context: list[GraphContextSize] = Field(
        default_factory=list,
        description="Base ontology, then with generated relations (bench.graph_context).",
    )
    planning: Planning | None = Field(default=None, description="The planner's own paths.")
    planner_paths: PlannerPaths | None = Field(
        default=None, description="Semantic cache hit and LLM planner, in their own stack."
    )

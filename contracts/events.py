"""Event models for every topic. Evolve additively: new fields optional with defaults;
a breaking change is a new `kind` or a new topic, never a changed field."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, computed_field, model_validator

from contracts.topics import WorkerKind
from contracts.version import CONTRACT_VERSION

Role = Literal["system", "user", "assistant", "tool", "developer"]
Mode = Literal["default", "code", "concise"]
Confidence = Literal["high", "medium", "low"]
FinishReason = Literal["stop", "length"]
ReplyChannel = Literal["content", "reasoning"]
PlanSource = Literal[
    "exact_cache",
    "semantic_cache",
    "coalesced",
    "router",
    "precision",
    "llm_planner",
    "fallback",
    "fast_path",
]


def new_id(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4().hex}"


def response_id_for(request_id: str) -> str:
    """The OpenAI completion id of a request: derived, so every service agrees on it."""
    return f"chatcmpl-{request_id}"


class Event(BaseModel):
    """Fields every event carries, so a request's trail can be read back from topics."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    request_id: str = Field(min_length=1, description="Correlates every event of one request.")
    tenant: str = Field(default="default", description="Isolation scope (caches, quotas).")
    contract_version: str = Field(default=CONTRACT_VERSION)
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class ChatMessage(BaseModel):
    model_config = ConfigDict(frozen=True)

    role: Role
    content: str


class GenerationOptions(BaseModel):
    """The client's sampling options, passed through to the models."""

    model_config = ConfigDict(frozen=True)

    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1)
    stop: list[str] | None = None


class Usage(BaseModel):
    model_config = ConfigDict(frozen=True)

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
        )


class TaskSpec(BaseModel):
    """One sub-task of a plan, routed by `worker` to its `moe.tasks.<worker>` topic."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1)
    task: str = Field(description="What the worker should do, in words.")
    category: str = Field(default="general", description="Expert category or tool family.")
    worker: WorkerKind = "expert"
    tool: str | None = None
    args: dict[str, Any] | None = None
    search_query: str | None = None


class RequestReceived(Event):
    kind: Literal["request.received"] = "request.received"
    messages: list[ChatMessage] = Field(min_length=1)
    mode: Mode = "default"
    model: str = Field(description="The model id the client asked for.")
    options: GenerationOptions = GenerationOptions()
    deadline_at: float | None = Field(
        default=None, description="Unix time after which nobody waits for the answer."
    )


class CachedAnswer(BaseModel):
    """An earlier committed answer, served again for the same question."""

    model_config = ConfigDict(frozen=True)

    response_id: str = Field(description="The completion id the answer was first given under.")
    answer: str


class PlanCreated(Event):
    kind: Literal["plan.created"] = "plan.created"
    question: str = Field(default="", description="The user's question the plan answers.")
    tasks: list[TaskSpec] = Field(
        default=[], description="At least one, unless the plan is a cache hit."
    )
    streaming_task_id: str | None = Field(
        default=None,
        description="Task whose tokens go straight to moe.replies (single-expert plans).",
    )
    deadline_at: float | None = None
    mode: Mode = Field(default="default", description="The answer style the client asked for.")
    options: GenerationOptions = Field(
        default=GenerationOptions(), description="The client's options, for the judge's call."
    )
    cache_key: str | None = Field(
        default=None, description="Where the committed answer may be cached; None: nowhere."
    )
    cache_hit: CachedAnswer | None = Field(
        default=None,
        description="Answered from the cache: the planner already sent the reply; no tasks.",
    )
    usage: Usage = Field(
        default=Usage(), description="The planner's own model calls, summed into the answer's."
    )
    planned_by: PlanSource | None = Field(
        default=None, description="How the plan was made (None: by a planner before 2.1)."
    )
    plan_note: str | None = Field(
        default=None, description="Why: the fallback's reason, the router's category, ..."
    )
    distance: float | None = Field(
        default=None, description="Cosine distance of the semantic cache hit or router match."
    )
    margin: float | None = Field(
        default=None, description="Router: how far the runner-up category was behind."
    )

    @model_validator(mode="after")
    def _tasks_or_cache_hit(self) -> PlanCreated:
        if not self.tasks and self.cache_hit is None:
            raise ValueError("a plan needs at least one task unless it is a cache hit")
        return self


class TaskAssigned(Event):
    kind: Literal["task.assigned"] = "task.assigned"
    task: TaskSpec
    messages: list[ChatMessage] = Field(min_length=1, description="Conversation context.")
    mode: Mode = "default"
    options: GenerationOptions = GenerationOptions()
    stream_reply: bool = Field(default=False, description="Stream tokens to moe.replies.")
    deadline_at: float | None = None


class TaskResult(Event):
    kind: Literal["task.result"] = "task.result"
    task_id: str
    category: str = "general"
    worker_id: str = ""
    output: str = ""
    error: str | None = Field(default=None, description="Why the task failed, if it did.")
    confidence: Confidence | None = None
    model: str | None = None
    usage: Usage = Usage()
    finish_reason: FinishReason | None = None
    streamed_chunks: int = Field(
        default=0, description="ReplyChunks this worker already published for the task."
    )
    exact_values: list[str] = Field(
        default=[],
        description="A precision tool's exact values, which an answer must quote unchanged.",
    )
    result_hash: str | None = Field(
        default=None, description="sha256 of a precision tool's canonical JSON result."
    )
    started_at: float = Field(default_factory=time.time)
    first_token_at: float | None = None
    finished_at: float = Field(default_factory=time.time)
    tier: int | None = Field(default=None, description="The answering model's tier (1, 2).")
    final: bool = Field(
        default=True,
        description="The task's last result. An expert task gets one result per model "
        "asked (tier 1 concurrently, then tier 2); all but the last say False.",
    )
    capped_from: int | None = Field(
        default=None,
        description="The answer's length in characters before it was cut to the expert "
        "output cap; None: not cut.",
    )
    note: str | None = Field(
        default=None, description="Why this model answered against its rule (e.g. a low score)."
    )

    @classmethod
    def answering(cls, assigned: TaskAssigned, **fields: Any) -> TaskResult:
        """The result of `assigned`, correlated to it (request, tenant, task, category)."""
        correlation = {
            "request_id": assigned.request_id,
            "tenant": assigned.tenant,
            "task_id": assigned.task.id,
            "category": assigned.task.category,
        }
        return cls.model_validate({**correlation, **fields})


class ReplyChunk(Event):
    kind: Literal["reply.chunk"] = "reply.chunk"
    seq: int = Field(ge=0, description="Position in the reply stream; resumption cursor.")
    delta: str
    channel: ReplyChannel = Field(
        default="content",
        description="content: the answer; reasoning: progress and the thinking step, which "
        "the gateway relays as `delta.reasoning_content` (a client's thinking panel).",
    )
    emitted_at: float = Field(default_factory=time.time)


class ReplyDone(Event):
    kind: Literal["reply.done"] = "reply.done"
    seq: int = Field(ge=0)
    finish_reason: FinishReason = "stop"
    usage: Usage = Usage()


class ReplyError(Event):
    kind: Literal["reply.error"] = "reply.error"
    seq: int = Field(default=0, ge=0)
    status: int = Field(default=502, description="HTTP status the gateway answers with.")
    code: str = "upstream_error"
    message: str


class PrecisionCorrection(BaseModel):
    """A precision tool's value the model-written answer altered or dropped, and what the
    merger did about it."""

    model_config = ConfigDict(frozen=True)

    task_id: str
    tool: str = Field(description="The tool whose value was missing, e.g. 'calculate'.")
    missing: list[str] = Field(description="Its exact values the answer did not contain.")
    action: Literal["appended"] = Field(
        default="appended", description="The tool's block was appended to the answer verbatim."
    )


class AnswerCommitted(Event):
    kind: Literal["answer.committed"] = "answer.committed"
    response_id: str
    question: str
    answer: str
    usage: Usage = Usage()
    task_ids: list[str] = []
    models: list[str] = Field(
        default=[], description="Every model that answered, as `model::category`."
    )
    cache_key: str | None = Field(
        default=None, description="Cache the answer under this key; None: do not cache it."
    )
    precision_corrections: list[PrecisionCorrection] = Field(
        default=[], description="Tool values the precision guard reinstated in the answer."
    )


class FeedbackGiven(Event):
    kind: Literal["feedback.given"] = "feedback.given"
    response_id: str
    rating: Literal[-1, 0, 1] = Field(
        description="-1 negative, 1 positive, 0 neutral (from `stars` 3; older events "
        "never carry 0)."
    )
    stars: int | None = Field(
        default=None, ge=1, le=5, description="The client's 1-5 rating; None on older events."
    )
    comment: str | None = None
    models: list[str] = Field(
        default=[], description="The rated answer's models (`model::category`), scored by it."
    )

    @classmethod
    def from_stars(cls, stars: int, **fields: Any) -> FeedbackGiven:
        """1-2 negative, 3 neutral, 4-5 positive."""
        rating = -1 if stars <= 2 else (0 if stars == 3 else 1)
        return cls(rating=rating, stars=stars, **fields)


class WorkerHeartbeat(Event):
    kind: Literal["worker.heartbeat"] = "worker.heartbeat"
    request_id: str = Field(default_factory=new_id, min_length=1)
    worker_id: str
    service: str
    capabilities: list[str] = []
    topics: list[str] = []


class ToolSwitched(Event):
    """An operator turned one precision tool off or on. Published on the compacted
    moe.tool_switches keyed by the tool's name (`request_id` = the name), so the latest
    switch per tool is kept for good and every tools instance replays it at start."""

    kind: Literal["tool.switched"] = "tool.switched"
    tool: str = Field(min_length=1, max_length=100)
    enabled: bool
    reason: str = Field(default="", max_length=500)


class GraphTerms(Event):
    """The knowledge graph's term index for one scope, on moe.graph.terms (compacted,
    keyed by `graph_terms_key(scope)`): the names and aliases of its entities, normalised
    (contracts.graph_terms.normalise). The planner adds a graph task to a plan whose
    question names one of them; the ingest service republishes a scope when it changes."""

    kind: Literal["graph.terms"] = "graph.terms"
    scope: str = Field(
        default="", description="'' for the shared base ontology, else the tenant it is for."
    )
    terms: list[str] = Field(default=[], description="Normalised entity names and aliases.")


def graph_terms_key(scope: str) -> str:
    """The Kafka key (request_id) of a scope's GraphTerms: compaction keeps the latest."""
    return f"graph-terms:{scope or '*'}"


class CanaryPing(Event):
    """A health probe sent to one stage's input topic (contracts.canary). The stage
    answers at once with a CanaryPong on moe.replies: no model call, no cache lookup,
    no plan, nothing a client can ever receive."""

    kind: Literal["canary.ping"] = "canary.ping"
    stage: str = Field(min_length=1, description="The stage asked to answer.")


class CanaryPong(Event):
    """A stage's answer to a CanaryPing, keyed and correlated by the ping's request_id."""

    kind: Literal["canary.pong"] = "canary.pong"
    stage: str
    service: str = Field(description="The service that answered.")
    worker_id: str = ""


class DeadLetter(Event):
    kind: Literal["dead.letter"] = "dead.letter"
    original_topic: str
    original_partition: int | None = None
    original_offset: int | None = None
    original_key: str | None = None
    original_value: str = Field(description="The rejected payload, decoded as UTF-8.")
    error: str = Field(description="Why the consumer rejected it.")
    consumer: str = Field(description="Service (consumer group) that rejected it.")


AnyEvent = Annotated[
    RequestReceived
    | PlanCreated
    | TaskAssigned
    | TaskResult
    | ReplyChunk
    | ReplyDone
    | ReplyError
    | AnswerCommitted
    | FeedbackGiven
    | WorkerHeartbeat
    | ToolSwitched
    | GraphTerms
    | CanaryPing
    | CanaryPong
    | DeadLetter,
    Field(discriminator="kind"),
]
EVENT_ADAPTER: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent)

# What each stage's input topics carry: its work, and the gateway's health canaries.
MergerInput = Annotated[PlanCreated | TaskResult | CanaryPing, Field(discriminator="kind")]
TaskInput = Annotated[TaskAssigned | CanaryPing, Field(discriminator="kind")]
ReplyEvent = Annotated[ReplyChunk | ReplyDone | ReplyError, Field(discriminator="kind")]

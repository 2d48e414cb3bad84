"""Planner settings, read from PLANNER_* (and the shared KAFKA_URL)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.events import new_id
from contracts.expert_report import EXPERT_CATEGORIES
from contracts.inference import (
    LOCAL_MODEL,
    LOCAL_SERVER,
    InferenceServer,
    inference_servers_setting,
)
from contracts.liveness import heartbeat_interval_setting, liveness_file_setting
from contracts.wire import kafka_url_setting
from services.planner.embeddings import DEFAULT_THREADS
from services.planner.router import DEFAULT_PROTOTYPES


class PlannerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PLANNER_")

    kafka_url: str = kafka_url_setting("PLANNER_")
    group_id: str = "moe-planner"
    worker_id: str = Field(default_factory=lambda: new_id("planner-"))
    heartbeat_interval_s: float = heartbeat_interval_setting()
    liveness_file: Path | None = liveness_file_setting()
    tools_url: str = Field(
        default="http://127.0.0.1:8003",
        validation_alias=AliasChoices("PLANNER_TOOLS_URL", "TOOLS_URL"),
        description="Tools service whose GET /tools lists the plannable tools; empty: none.",
    )
    cache_enabled: bool = Field(
        default=True, description="Answer a repeated question from earlier answers."
    )
    cache_max_entries: int = Field(default=10_000, ge=1, description="Per planner instance.")
    cache_ttl_s: float = Field(
        default=24 * 3600.0, gt=0, description="How long an answer may be served again."
    )
    graph_enabled: bool = Field(
        default=True,
        description="Add a graph task when the question names a knowledge-graph term.",
    )
    graph_terms_max_age_s: float = Field(
        default=90.0,
        gt=0,
        description="Graph terms not republished for this long are ignored (ingest is down).",
    )
    cache_rebuild_wait_s: float = Field(
        default=10.0,
        ge=0,
        description="After a start, how long requests wait for the cache view to catch up.",
    )
    coalesce_wait_s: float = Field(
        default=60.0,
        gt=0,
        description="How long a request identical to one in flight waits for its answer "
        "before it is planned itself.",
    )
    chroma_path: Path | None = Field(
        default=None,
        description="Folder of the embedded ChromaDB semantic cache (the local stack puts "
        "it under its state folder); unset, and no CHROMA_HOST: no semantic cache.",
    )
    chroma_host: str | None = Field(
        default=None,
        validation_alias=AliasChoices("PLANNER_CHROMA_HOST", "CHROMA_HOST"),
        description="A ChromaDB server shared by every planner instance (`chroma run`).",
    )
    chroma_port: int = Field(
        default=8000, validation_alias=AliasChoices("PLANNER_CHROMA_PORT", "CHROMA_PORT")
    )
    cache_hit_threshold: float = Field(
        default=0.15,
        gt=0,
        lt=2,
        validation_alias=AliasChoices("PLANNER_CACHE_HIT_THRESHOLD", "CACHE_HIT_THRESHOLD"),
        description="A semantic cache hit: cosine distance below this.",
    )
    embeddings_url: str = Field(
        default="",
        validation_alias=AliasChoices("PLANNER_EMBEDDINGS_URL", "EMBEDDINGS_URL"),
        description="An OpenAI-compatible /v1 base URL for embeddings; empty: the local "
        "all-MiniLM-L6-v2 (ONNX) model.",
    )
    embeddings_model: str = Field(
        default="all-MiniLM-L6-v2",
        validation_alias=AliasChoices("PLANNER_EMBEDDINGS_MODEL", "EMBEDDINGS_MODEL"),
    )
    embedding_threads: int = Field(
        default=DEFAULT_THREADS,
        ge=1,
        description="CPU threads of one local embedding (2: ~40 % faster than 1 for ~25 % "
        "more CPU on a 2-core machine).",
    )

    router_enabled: bool = Field(
        default=True, description="Route clear matches of the prototype phrases to a category."
    )
    router_prototypes: Path = Field(
        default=DEFAULT_PROTOTYPES, description="JSON file: expert category -> phrases."
    )
    router_max_distance: float = Field(
        default=0.68, gt=0, lt=2, description="Nearest prototype at most this far (cosine)."
    )
    router_min_margin: float = Field(
        default=0.10, ge=0, description="... and this much nearer than the runner-up category."
    )

    llm_planner: bool | None = Field(
        default=None,
        description="Let the judge model split what nothing else settled into 1-4 tasks "
        "(off: one general task). Unset: on, unless JUDGE_MODEL is the local stack's "
        "135M model, which cannot plan and would cost seconds before the first token.",
    )
    inference_servers: list[InferenceServer] = inference_servers_setting()
    judge_model: str = Field(
        default=LOCAL_MODEL,
        validation_alias=AliasChoices("PLANNER_JUDGE_MODEL", "JUDGE_MODEL"),
        min_length=1,
    )
    judge_endpoint: str = Field(
        default=LOCAL_SERVER.name,
        validation_alias=AliasChoices("PLANNER_JUDGE_ENDPOINT", "JUDGE_ENDPOINT"),
        description="Name of the INFERENCE_SERVERS entry that serves JUDGE_MODEL.",
    )
    llm_timeout_s: float = Field(
        default=20.0, gt=0, description="A planner model call longer than this falls back."
    )
    categories: list[str] = Field(
        default=list(EXPERT_CATEGORIES),
        min_length=1,
        description="Expert categories a planned task may name; others are dropped.",
    )
    plan_cache_ttl_s: float = Field(
        default=1800.0, gt=0, description="How long a planner model's plan is reused."
    )
    searxng_url: str = Field(
        default="",
        validation_alias=AliasChoices("PLANNER_SEARXNG_URL", "SEARXNG_URL"),
        description="Set when research workers run: the planner may plan one research task.",
    )

    @property
    def semantic_cache(self) -> bool:
        return self.cache_enabled and (bool(self.chroma_host) or self.chroma_path is not None)

    @model_validator(mode="after")
    def _llm_planner_unless_the_local_model_judges(self) -> PlannerSettings:
        if self.llm_planner is None:
            self.llm_planner = self.judge_model != LOCAL_MODEL
        return self

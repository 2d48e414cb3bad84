"""Merger settings, read from MERGER_* (and the shared KAFKA_URL). The judge model uses
the reference system's names: INFERENCE_SERVERS, JUDGE_MODEL and JUDGE_ENDPOINT."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.events import new_id
from contracts.inference import (
    LOCAL_MODEL,
    LOCAL_SERVER,
    InferenceServer,
    inference_servers_setting,
)
from contracts.liveness import heartbeat_interval_setting, liveness_file_setting
from contracts.wire import kafka_url_setting


class MergerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MERGER_", populate_by_name=True)

    kafka_url: str = kafka_url_setting("MERGER_")
    group_id: str = "moe-merger"
    worker_id: str = Field(default_factory=lambda: new_id("merger-"))
    heartbeat_interval_s: float = heartbeat_interval_setting()
    liveness_file: Path | None = liveness_file_setting()
    searxng_url: str = Field(
        default="",
        validation_alias=AliasChoices("MERGER_SEARXNG_URL", "SEARXNG_URL"),
        description="Set when research workers run: turns on the research fallback.",
    )
    orphan_ttl_s: float = Field(
        default=600.0, gt=0, description="Forget a request whose events stop arriving."
    )
    synthesis: bool = Field(
        default=True,
        description="A judge model writes the answer of a multi-result plan; off: the "
        "results are concatenated in source-priority order.",
    )
    thinking: bool = Field(
        default=True,
        description="A thinking step (streamed as reasoning) before the judge writes, when "
        "the plan has several tasks or a result is low.",
    )
    critic: bool = Field(
        default=True, description="The judge checks medical and legal answers before they go."
    )
    progress: bool = Field(
        default=True,
        description="Progress lines (the plan, each result) as reasoning chunks while the "
        "pipeline works.",
    )
    max_syntheses: int = Field(
        default=32, ge=1, description="Judge calls streaming at once per merger instance."
    )
    inference_servers: list[InferenceServer] = inference_servers_setting()
    judge_model: str = Field(default=LOCAL_MODEL, validation_alias="JUDGE_MODEL", min_length=1)
    judge_endpoint: str = Field(
        default=LOCAL_SERVER.name,
        validation_alias="JUDGE_ENDPOINT",
        description="Name of the INFERENCE_SERVERS entry that serves JUDGE_MODEL.",
    )

    @property
    def research_fallback(self) -> bool:
        """Search the web when an expert answers with low confidence."""
        return bool(self.searxng_url.strip())

"""Expert-worker settings. Model configuration uses the reference system's names:
INFERENCE_SERVERS (JSON list of endpoints) and EXPERT_MODELS (category -> models)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.expert_report import EXPERT_CATEGORIES
from contracts.inference import (
    LOCAL_MODEL,
    LOCAL_SERVER,
    ExpertModel,
    InferenceServer,
    inference_servers_setting,
)
from contracts.liveness import heartbeat_interval_setting, liveness_file_setting
from contracts.wire import kafka_url_setting


class ExpertSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EXPERTS_", populate_by_name=True)

    kafka_url: str = kafka_url_setting("EXPERTS_")
    group_id: str = "moe-experts"
    concurrency: int = Field(default=32, ge=1, description="Tasks answered at once per worker.")
    heartbeat_interval_s: float = heartbeat_interval_setting()
    liveness_file: Path | None = liveness_file_setting()
    inference_servers: list[InferenceServer] = inference_servers_setting()
    expert_models: dict[str, list[ExpertModel]] = Field(
        default_factory=lambda: {
            category: [ExpertModel(model=LOCAL_MODEL, endpoint=LOCAL_SERVER.name)]
            for category in EXPERT_CATEGORIES
        },
        validation_alias="EXPERT_MODELS",
        description="Category -> its models, each with an optional tier. A category "
        "missing here is answered by `general`'s models.",
    )
    max_output_chars: int = Field(
        default=2400,
        ge=200,
        validation_alias=AliasChoices("MAX_EXPERT_OUTPUT_CHARS", "EXPERTS_MAX_OUTPUT_CHARS"),
        description="An answer that feeds a merge is cut to this, at a sentence boundary.",
    )
    scores: bool = Field(
        default=True,
        description="Order each category's models by their score from moe.feedback, "
        "replayed at start-up; off: EXPERT_MODELS order.",
    )
    scores_rebuild_wait_s: float = Field(
        default=10.0, ge=0, description="After a start, longest wait for the scores replay."
    )

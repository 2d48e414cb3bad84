"""Expert-worker settings. Model configuration uses the reference system's names:
INFERENCE_SERVERS (JSON list of endpoints) and EXPERT_MODELS (category -> models)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

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
        default={"general": [ExpertModel(model=LOCAL_MODEL, endpoint=LOCAL_SERVER.name)]},
        validation_alias="EXPERT_MODELS",
    )

"""Gateway settings, read from GATEWAY_* (and the shared KAFKA_URL)."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.canary import CANARY_STAGES, REQUIRED_STAGES
from contracts.events import Mode
from contracts.inference import InferenceServer, inference_servers_setting
from contracts.wire import kafka_url_setting

MODEL_MODES: dict[str, Mode] = {
    "moe-orchestrator": "default",
    "moe-orchestrator-code": "code",
    "moe-orchestrator-concise": "concise",
}


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", populate_by_name=True)

    host: str = "127.0.0.1"
    port: int = 8000
    kafka_url: str = kafka_url_setting("GATEWAY_")
    reply_timeout_s: float = Field(default=120.0, gt=0, description="Deadline for a reply.")
    max_in_flight: int = Field(default=512, ge=1, description="Open requests before 429.")
    retry_after_s: int = Field(default=1, ge=1)
    publish_timeout_s: float = Field(
        default=3.0, gt=0, description="Longest wait for the broker to take a request; 503 after."
    )
    broker_check_s: float = Field(
        default=2.0, gt=0, description="While replies are awaited: how often the broker is pinged."
    )
    broker_lost_after_s: float = Field(
        default=6.0,
        gt=0,
        description="Unreachable this long, the broker is lost: waiting requests end with 503.",
    )
    unavailable_retry_after_s: int = Field(
        default=5, ge=1, description="Retry-After of a 503 (broker or a stage unreachable)."
    )
    health_stages: list[str] = Field(
        default=list(REQUIRED_STAGES),
        description="Stages /health sends a canary to; all must answer for a 200.",
    )
    health_canary_timeout_s: float = Field(
        default=3.0, gt=0, description="How long /health waits for each stage's canary."
    )
    health_max_age_s: float = Field(
        default=10.0, ge=0, description="A /health report this young is served again."
    )
    health_watch_interval_s: float = Field(
        default=30.0, ge=0, description="Background health checks (stalls logged); 0: off."
    )
    feedback_answers_kept: int = Field(
        default=100_000, ge=1, description="Answers the feedback route knows (newest kept)."
    )
    feedback_lookup_wait_s: float = Field(
        default=2.0,
        ge=0,
        description="How long a rating of an unknown response waits for its answer to "
        "reach this gateway's view before the 404.",
    )
    inference_servers: list[InferenceServer] = inference_servers_setting()
    graph_url: str = Field(
        default="http://127.0.0.1:8004",
        description="The ingest service's HTTP API, behind GET /v1/graph/*; empty: 404.",
    )
    graph_timeout_s: float = Field(default=5.0, gt=0, description="Per /v1/graph/* call.")
    api_keys: dict[str, str] = Field(
        default_factory=dict, description="API key -> tenant. Empty: no auth, tenant 'default'."
    )

    @field_validator("health_stages")
    @classmethod
    def _known_stages(cls, stages: list[str]) -> list[str]:
        unknown = sorted(set(stages) - set(CANARY_STAGES))
        if unknown:
            raise ValueError(f"unknown stage(s) {unknown}; known: {sorted(CANARY_STAGES)}")
        return stages

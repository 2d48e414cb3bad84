"""Gateway settings, read from GATEWAY_* (and the shared KAFKA_URL)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.events import Mode
from contracts.wire import kafka_url_setting

MODEL_MODES: dict[str, Mode] = {
    "moe-orchestrator": "default",
    "moe-orchestrator-code": "code",
    "moe-orchestrator-concise": "concise",
}


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_")

    host: str = "127.0.0.1"
    port: int = 8000
    kafka_url: str = kafka_url_setting("GATEWAY_")
    reply_timeout_s: float = Field(default=120.0, gt=0, description="Deadline for a reply.")
    max_in_flight: int = Field(default=512, ge=1, description="Open requests before 429.")
    retry_after_s: int = Field(default=1, ge=1)
    api_keys: dict[str, str] = Field(
        default_factory=dict, description="API key -> tenant. Empty: no auth, tenant 'default'."
    )

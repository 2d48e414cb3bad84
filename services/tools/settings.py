"""Settings of the tools service, read from TOOLS_* environment variables."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.liveness import liveness_file_setting
from contracts.wire import kafka_url_setting


def _worker_id() -> str:
    return f"tools-{socket.gethostname()}-{os.getpid()}"


class ToolsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TOOLS_", extra="ignore", populate_by_name=True)

    kafka_url: str = kafka_url_setting("TOOLS_")
    kafka_enabled: bool = Field(
        default=True, description="Off: serve only HTTP and MCP (no broker needed)."
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8003, ge=0, le=65535)
    worker_id: str = Field(default_factory=_worker_id)

    tool_timeout: float = Field(default=5.0, gt=0, description="Seconds per tool call.")
    pool_size: int = Field(default=2, ge=1, description="Concurrent tool worker processes.")
    worker_memory_mb: int = Field(
        default=1024, ge=0, description="Address-space cap per worker process; 0 = none."
    )
    max_body_bytes: int = Field(default=2_000_000, gt=0, description="Largest /invoke body.")
    heartbeat_interval: float = Field(default=10.0, gt=0)
    disabled_tools: list[str] = Field(
        default_factory=list,
        description="Tools switched off at start (JSON list); the admin route can turn them on.",
    )
    admin_key: SecretStr = Field(
        default=SecretStr(""),
        description="Bearer key of the admin routes (tool switches); empty: no admin routes.",
    )
    liveness_file: Path | None = liveness_file_setting()

    searxng_url: str = Field(
        default="",
        validation_alias=AliasChoices("TOOLS_SEARXNG_URL", "SEARXNG_URL"),
        description="SearXNG base URL; empty turns research off.",
    )
    research_results: int = Field(default=5, ge=1, le=20)
    research_timeout: float = Field(default=10.0, gt=0)

    @property
    def research_enabled(self) -> bool:
        return bool(self.searxng_url.strip())

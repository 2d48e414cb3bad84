"""What one soak run is asked to do (`moe soak`'s options, or a test's own)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

from bench.soak_mix import MixProfile


class SoakConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    minutes: float = 10.0
    gateway_url: str = "http://127.0.0.1:8000"
    seed: int = 1
    profile: str = "mix"
    mix: MixProfile | None = None
    """Overrides the named profile (tests use their own shares)."""
    max_error_share: float = 0.01
    timeout_s: float = 150.0
    """Client timeout: above the gateway's 120 s deadline, so its 504 is what we see."""
    jsonl: Path | None = None
    lag: bool = True
    bootstrap: str | None = None

    @property
    def api_url(self) -> str:
        base = self.gateway_url.rstrip("/")
        return base if base.endswith("/v1") else f"{base}/v1"

    @property
    def port(self) -> int:
        return urlsplit(self.gateway_url).port or 80


class NotAStack(Exception):
    """The gateway URL is not a running gateway on this machine."""

"""Merger settings, read from MERGER_* (and the shared KAFKA_URL)."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.wire import kafka_url_setting


class MergerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MERGER_", populate_by_name=True)

    kafka_url: str = kafka_url_setting("MERGER_")
    group_id: str = "moe-merger"
    searxng_url: str = Field(
        default="",
        validation_alias=AliasChoices("MERGER_SEARXNG_URL", "SEARXNG_URL"),
        description="Set when research workers run: turns on the research fallback.",
    )
    orphan_ttl_s: float = Field(
        default=600.0, gt=0, description="Forget a request whose events stop arriving."
    )

    @property
    def research_fallback(self) -> bool:
        """Search the web when an expert answers with low confidence."""
        return bool(self.searxng_url.strip())

"""Planner settings, read from PLANNER_* (and the shared KAFKA_URL)."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class PlannerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PLANNER_")

    kafka_url: str = Field(
        default="127.0.0.1:9092", validation_alias=AliasChoices("PLANNER_KAFKA_URL", "KAFKA_URL")
    )
    group_id: str = "moe-planner"
    tools_url: str = Field(
        default="http://127.0.0.1:8003",
        validation_alias=AliasChoices("PLANNER_TOOLS_URL", "TOOLS_URL"),
        description="Tools service whose GET /tools lists the plannable tools; empty: none.",
    )

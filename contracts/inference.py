"""Shape of the model configuration every LLM-calling service reads, named as the
reference system names it: INFERENCE_SERVERS, EXPERT_MODELS, JUDGE_MODEL/JUDGE_ENDPOINT."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class InferenceServer(BaseModel):
    """One OpenAI-compatible endpoint (vLLM, Ollama, LiteLLM, llama.cpp)."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1)
    url: str = Field(description="Base URL including /v1, e.g. http://gpu1:8000/v1")
    token: str = Field(default="none", description="API key sent as Bearer token.")
    timeout: float = Field(default=120.0, gt=0, description="Seconds per model call.")


class ExpertModel(BaseModel):
    model_config = ConfigDict(frozen=True)

    model: str = Field(min_length=1)
    endpoint: str = Field(description="Name of an entry in INFERENCE_SERVERS.")
    tier: int | None = Field(
        default=None,
        ge=1,
        le=2,
        description="1 answers first, 2 only when no tier-1 answer is confident; None: "
        "from the parameter count in the model's name (<= 20B is tier 1).",
    )


LOCAL_SERVER = InferenceServer(name="local", url="http://127.0.0.1:8080/v1")
LOCAL_MODEL = "smollm2"


def find_server(servers: list[InferenceServer], name: str) -> InferenceServer:
    for server in servers:
        if server.name == name:
            return server
    known = ", ".join(s.name for s in servers) or "none"
    raise LookupError(f"endpoint {name!r} is not in INFERENCE_SERVERS (known: {known})")


def inference_servers_setting() -> Any:
    """The settings field every LLM-calling service reads its endpoints from:
    INFERENCE_SERVERS (a JSON list), else the local model server."""
    return Field(default=[LOCAL_SERVER], validation_alias="INFERENCE_SERVERS", min_length=1)

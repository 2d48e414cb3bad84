"""What a local stack runs and where: ports, log folder, and the model configuration the
services receive (INFERENCE_SERVERS, EXPERT_MODELS, JUDGE_MODEL/JUDGE_ENDPOINT)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from contracts.inference import ExpertModel, InferenceServer
from contracts.topics import DEFAULT_REQUEST_PARTITIONS, DEFAULT_RETENTION_HOURS
from deploy.local.broker import KafkaNode
from deploy.local.graphdb import MAX_BOLT_PORT
from deploy.local.llm import MODEL_ALIAS, llm_base_url

LOCAL_ENDPOINT = "local"

ServersAdapter = TypeAdapter(list[InferenceServer])
ExpertModelsAdapter = TypeAdapter(dict[str, list[ExpertModel]])


class StackConfig(BaseModel):
    """Defaults are the documented local ports. Tests pass free ports and, with
    `start_llm=False`, their own `inference_servers` (e.g. a scripted model server)."""

    model_config = ConfigDict(frozen=True)

    broker_port: int = 9092
    controller_port: int = 9093
    kafka_bootstrap: str | None = Field(
        default=None,
        description="An existing Kafka cluster to use instead of starting the local broker.",
    )
    state_dir: Path = Field(
        default=Path(".stack/state"), description="What survives a restart: the broker's log."
    )
    fresh: bool = Field(default=False, description="Start from empty: delete the broker's log.")
    retention_hours: float = Field(default=DEFAULT_RETENTION_HOURS, gt=0)
    graph_port: int = 6379
    bolt_port: int = Field(default=7687, gt=0, le=MAX_BOLT_PORT)
    llm_port: int = 8080
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    tools_port: int = 8003
    ingest_port: int = Field(default=8004, description="The knowledge graph service's HTTP API.")
    log_dir: Path = Path(".stack/logs")
    start_graphdb: bool = True
    semantic_cache: bool = Field(
        default=True, description="The planner's semantic cache, in the state folder."
    )
    start_llm: bool | None = Field(
        default=None,
        description="Run the local model server. None: only when no inference_servers given.",
    )
    inference_servers: list[InferenceServer] | None = Field(
        default=None, description="Endpoints for the services; None: the local model server."
    )
    model: str = Field(default=MODEL_ALIAS, description="Model id every role uses by default.")
    expert_models: dict[str, list[ExpertModel]] | None = None
    judge_model: str | None = None
    judge_endpoint: str | None = None
    llm_planner: bool | None = Field(
        default=None,
        description="The planner's LLM planner; None: the planner decides (on unless the "
        "local 135M model judges).",
    )
    partitions: int = Field(
        default=DEFAULT_REQUEST_PARTITIONS, ge=1, description="Per request-keyed topic."
    )

    @model_validator(mode="after")
    def _has_a_model_endpoint(self) -> StackConfig:
        if not self.runs_llm and not self.inference_servers:
            raise ValueError(
                "without the local model server (--no-llm), give inference_servers "
                "(--inference-servers or INFERENCE_SERVERS)"
            )
        return self

    @property
    def runs_llm(self) -> bool:
        return self.start_llm if self.start_llm is not None else not self.inference_servers

    @property
    def runs_broker(self) -> bool:
        return self.kafka_bootstrap is None

    @property
    def bootstrap(self) -> str:
        return self.kafka_bootstrap or f"127.0.0.1:{self.broker_port}"

    def kafka_node(self) -> KafkaNode:
        return KafkaNode(self.broker_port, self.controller_port, self.state_dir / "kafka")

    @property
    def api_url(self) -> str:
        return f"http://{self.gateway_host}:{self.gateway_port}/v1"

    def servers(self) -> list[InferenceServer]:
        if self.inference_servers:
            return self.inference_servers
        return [InferenceServer(name=LOCAL_ENDPOINT, url=llm_base_url(self.llm_port))]

    def model_env(self) -> dict[str, str]:
        """Model configuration for the services; unset roles use `model` on the first
        endpoint."""
        servers = self.servers()
        endpoint = servers[0].name
        experts = self.expert_models or {
            "general": [ExpertModel(model=self.model, endpoint=endpoint)]
        }
        return {
            "INFERENCE_SERVERS": ServersAdapter.dump_json(servers).decode(),
            "EXPERT_MODELS": ExpertModelsAdapter.dump_json(experts).decode(),
            "JUDGE_MODEL": self.judge_model or self.model,
            "JUDGE_ENDPOINT": self.judge_endpoint or endpoint,
        }

"""Settings of the ingest (knowledge graph) service, read from INGEST_* (and the shared
KAFKA_URL, INFERENCE_SERVERS, JUDGE_MODEL and JUDGE_ENDPOINT)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.events import new_id
from contracts.inference import (
    LOCAL_MODEL,
    LOCAL_SERVER,
    InferenceServer,
    inference_servers_setting,
)
from contracts.liveness import heartbeat_interval_setting, liveness_file_setting
from contracts.wire import kafka_url_setting

ONTOLOGY_FILE = Path(__file__).with_name("ontology.json")


class IngestSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INGEST_", populate_by_name=True)

    kafka_url: str = kafka_url_setting("INGEST_")
    graph_group_id: str = Field(
        default="moe-graph", description="Consumer group of moe.tasks.graph (graph context)."
    )
    ingest_group_id: str = Field(
        default="moe-ingest", description="Consumer group of moe.answers and moe.feedback."
    )
    worker_id: str = Field(default_factory=lambda: new_id("ingest-"))
    heartbeat_interval_s: float = heartbeat_interval_setting()
    liveness_file: Path | None = liveness_file_setting()
    host: str = "127.0.0.1"
    port: int = Field(default=8004, ge=0, le=65535, description="GET /graph/stats, /search.")

    # The graph: FalkorDB over Bolt locally, Neo4j 5 in production; one neo4j driver.
    bolt_url: str = Field(default="bolt://127.0.0.1:7687", description="Bolt URI of the graph.")
    graph_name: str = Field(
        default="moe",
        description="Neo4j's database (`neo4j` on Community). FalkorDB's Bolt needs a name "
        "for its handshake but serves one graph per server whatever it is (`db`).",
    )
    graph_user: str = Field(default="", description="Empty: no credentials (FalkorDB).")
    graph_password: str = ""
    query_timeout_s: float = Field(default=2.0, gt=0, description="Longest wait for a query.")
    max_message_bytes: int = Field(
        default=3500,
        ge=0,
        description="Largest query + parameters sent (FalkorDB 4.16's Bolt crashes above "
        "~4 KB); 0: no limit (Neo4j).",
    )
    ontology_file: Path = Field(default=ONTOLOGY_FILE, description="The base ontology (JSON).")
    ontology_check_s: float = Field(
        default=30.0,
        gt=0,
        description="How often the base ontology's presence is checked (and reloaded: an "
        "in-memory FalkorDB comes back empty after a restart).",
    )

    # Graph context (moe.tasks.graph).
    context_ttl_s: float = Field(default=3600.0, ge=0, description="Cached context lifetime.")
    context_cache_entries: int = Field(default=10_000, ge=1)
    max_seed_terms: int = Field(default=5, ge=1, description="Named terms traversed from.")
    first_hop_fanout: int = Field(default=8, ge=1, description="Relations per named term.")
    second_hop_fanout: int = Field(default=4, ge=1, description="Relations per neighbour.")

    # Learning from answers (moe.answers) with the judge model.
    extraction: bool | None = Field(
        default=None,
        description="Learn triples from committed answers (off: answers are not mined). "
        "Unset: on, unless the extraction model is the local stack's 135M SmolLM2, which "
        "cannot extract triples reliably and would take the model server's time from the "
        "users' answers (under a steady trickle its backlog grew without end).",
    )
    inference_servers: list[InferenceServer] = inference_servers_setting()
    extraction_model: str = Field(
        default=LOCAL_MODEL,
        validation_alias=AliasChoices("INGEST_EXTRACTION_MODEL", "JUDGE_MODEL"),
        min_length=1,
        description="The model that extracts triples (the judge model unless set).",
    )
    extraction_endpoint: str = Field(
        default=LOCAL_SERVER.name,
        validation_alias=AliasChoices("INGEST_EXTRACTION_ENDPOINT", "JUDGE_ENDPOINT"),
        description="Name of the INFERENCE_SERVERS entry serving extraction_model.",
    )
    extraction_max_chars: int = Field(
        default=6000, ge=200, description="Answer text sent to the extraction model."
    )
    extraction_max_tokens: int = Field(
        default=512,
        ge=64,
        description="Longest extraction answer: 8 triples fit; a model that rambles does "
        "not hold a model server's slot for minutes.",
    )
    store_retry_window_s: float = Field(
        default=30.0,
        gt=0,
        description="How long an answer's storing is retried while the graph is down before "
        "the event is handed back to the consumer (read again; never lost).",
    )
    search_max_limit: int = Field(default=50, ge=1, description="Largest /graph/search limit.")

    @model_validator(mode="after")
    def _extraction_unless_the_local_model_extracts(self) -> IngestSettings:
        if self.extraction is None:
            self.extraction = self.extraction_model != LOCAL_MODEL
        return self

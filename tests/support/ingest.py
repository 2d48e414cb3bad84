"""The ingest (knowledge graph) service for integration tests: a small ontology of
made-up terms that no other test's question names (the session planner reads the term
index too, and must not add graph tasks to other tests' plans), and helpers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from contracts.inference import InferenceServer
from services.ingest.settings import IngestSettings

T = TypeVar("T")

TEST_ONTOLOGY: dict[str, Any] = {
    "version": 1,
    "entities": [
        {"name": "Frobnicil", "type": "Drug", "aliases": ["frob-x"]},
        {"name": "Glimmer fever", "type": "Condition", "aliases": []},
        {"name": "Shimmer syndrome", "type": "Condition", "aliases": []},
    ],
    "relations": [
        {"subject": "Frobnicil", "relation": "TREATS", "object": "Glimmer fever"},
        {"subject": "Glimmer fever", "relation": "RELATED_TO", "object": "Shimmer syndrome"},
    ],
}
EXTRACTOR = "scripted-extractor"


def write_test_ontology(folder: Path) -> Path:
    path = folder / "ontology.json"
    path.write_text(json.dumps(TEST_ONTOLOGY), encoding="utf-8")
    return path


def ingest_settings(
    kafka_url: str, bolt_url: str, model_url: str, ontology: Path, port: int
) -> IngestSettings:
    return IngestSettings(
        kafka_url=kafka_url,
        bolt_url=bolt_url,
        ontology_file=ontology,
        port=port,
        inference_servers=[InferenceServer(name="scripted", url=f"{model_url}/v1", timeout=10)],
        extraction_model=EXTRACTOR,
        extraction_endpoint="scripted",
        query_timeout_s=1.0,
        ontology_check_s=0.5,
        store_retry_window_s=2.0,
    )


def triples_output(*triples: dict[str, Any]) -> list[str]:
    """The scripted model's tokens for an extraction answer of `triples`."""
    return [json.dumps({"triples": list(triples)})]


async def eventually(check: Callable[[], Awaitable[T | None]], timeout_s: float = 30.0) -> T:
    """The first truthy result of `check`, polled until `timeout_s`."""
    async with asyncio.timeout(timeout_s):
        while True:
            found = await check()
            if found:
                return found
            await asyncio.sleep(0.1)

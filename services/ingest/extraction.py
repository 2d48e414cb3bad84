"""Triples from a committed answer, extracted by the judge model with structured output
(a JSON schema in `response_format`, which vLLM, llama.cpp and Ollama honour).

The output is checked anyway: output that is not `{"triples": [...]}` yields nothing;
a triple with an unknown relation type, or a subject or object that is no name, is
rejected alone, with its reason; at most MAX_TRIPLES are kept."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from contracts.graph_terms import indexable
from contracts.inference import InferenceServer
from services.ingest.ontology import RELATION_TYPES, RelationType

MAX_TRIPLES = 8
MAX_NAME_CHARS = 80


class Triple(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    subject: str = Field(min_length=1, max_length=MAX_NAME_CHARS)
    subject_type: str = Field(default="Concept", min_length=1, max_length=60)
    relation: RelationType
    object: str = Field(min_length=1, max_length=MAX_NAME_CHARS)
    object_type: str = Field(default="Concept", min_length=1, max_length=60)

    @field_validator("subject", "object")
    @classmethod
    def _a_name(cls, value: str) -> str:
        value = " ".join(value.split())
        if not indexable(value):
            raise ValueError("not a name of 1 to 6 words")
        return value


SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "triples": {
            "type": "array",
            "maxItems": MAX_TRIPLES,
            "items": {
                "type": "object",
                "properties": {
                    "subject": {"type": "string"},
                    "subject_type": {"type": "string"},
                    "relation": {"type": "string", "enum": list(RELATION_TYPES)},
                    "object": {"type": "string"},
                    "object_type": {"type": "string"},
                },
                "required": ["subject", "subject_type", "relation", "object", "object_type"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["triples"],
    "additionalProperties": False,
}

SYSTEM = (
    "Extract facts from the text as knowledge-graph triples. Each triple is "
    "{subject, subject_type, relation, object, object_type}: subject and object are short "
    "names of things (a drug, a condition, a law, a technology, a theorem), the types are "
    "one word (Drug, Condition, LegalConcept, Technology, Concept, ...), and relation is "
    f"one of {', '.join(RELATION_TYPES)}. At most {MAX_TRIPLES} triples; only facts the "
    'text states. Answer with JSON: {"triples": [...]}.'
)


class ExtractionError(Exception):
    """The model could not be asked, or its output is not a list of triples."""


@dataclass
class Extracted:
    triples: list[Triple] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    """Why each rejected entry was rejected."""


def parse(content: str) -> Extracted:
    """The valid triples of a model's output; ExtractionError if it is not triples."""
    try:
        document = json.loads(content)
    except ValueError as exc:
        raise ExtractionError(f"output is not JSON: {content[:200]!r}") from exc
    entries = document.get("triples") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ExtractionError(f"output has no list of triples: {content[:200]!r}")
    extracted = Extracted()
    for index, entry in enumerate(entries):
        if len(extracted.triples) == MAX_TRIPLES:
            extracted.rejected.append(f"#{index}: beyond the first {MAX_TRIPLES}")
            continue
        try:
            extracted.triples.append(Triple.model_validate(entry))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "entry"
            extracted.rejected.append(f"#{index} {where}: {first['msg']}")
    return extracted


class Extractor:
    """The extraction model and its long-lived HTTP client (one per service)."""

    def __init__(
        self, server: InferenceServer, model: str, max_chars: int, max_tokens: int = 512
    ) -> None:
        self.model, self.max_chars, self.max_tokens = model, max_chars, max_tokens
        self._http = httpx.AsyncClient(
            base_url=server.url.rstrip("/"),
            headers={"Authorization": f"Bearer {server.token}"},
            timeout=server.timeout,
        )

    def body(self, question: str, answer: str) -> dict[str, Any]:
        text = f"Question: {question}\n\nAnswer: {answer}"[: self.max_chars]
        return {
            "model": self.model,
            "messages": [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": text},
            ],
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "triples", "schema": SCHEMA, "strict": True},
            },
            "temperature": 0,
            "max_tokens": self.max_tokens,
            "stream": False,
        }

    async def extract(self, question: str, answer: str) -> Extracted:
        try:
            response = await self._http.post("/chat/completions", json=self.body(question, answer))
        except httpx.HTTPError as exc:
            raise ExtractionError(f"model unreachable: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 400:
            raise ExtractionError(f"model answered HTTP {response.status_code}")
        try:
            content = response.json()["choices"][0]["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise ExtractionError("model response is not a chat completion") from exc
        return parse(content)

    async def aclose(self) -> None:
        await self._http.aclose()

"""The base ontology: a data file of typed entities (with aliases) and relations between
them, shared by every tenant. Validated on load, so a typo in the file fails at start-up
with the entry named, not as a missing fact later."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.graph_terms import indexable, normalise

RelationType = Literal[
    "IS_A",
    "TREATS",
    "CAUSES",
    "INTERACTS_WITH",
    "CONTRAINDICATES",
    "DEFINES",
    "USES",
    "IMPLEMENTS",
    "DEPENDS_ON",
    "EXTENDS",
    "RELATED_TO",
    "AFFECTS",
]
RELATION_TYPES: tuple[str, ...] = get_args(RelationType)
"""The only relationship types ever written to the graph. Cypher cannot take a type as a
parameter, so queries name one of these (never text from a model or a user)."""

SHARED = ""
"""The tenant of the base ontology: every tenant's context and search include it."""


def entity_key(name: str) -> str:
    """An entity's identity within its tenant: its normalised name."""
    return normalise(name)


class Entity(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=120)
    type: str = Field(min_length=1, max_length=60)
    aliases: list[str] = []

    @property
    def key(self) -> str:
        return entity_key(self.name)

    @property
    def terms(self) -> list[str]:
        """What a question may call it: its name and aliases, normalised, indexable."""
        found = [normalise(t) for t in [self.name, *self.aliases] if indexable(t)]
        return list(dict.fromkeys(found))


class Relation(BaseModel):
    model_config = ConfigDict(frozen=True)

    subject: str
    relation: RelationType
    object: str


class Ontology(BaseModel):
    version: int = Field(ge=1, description="Bump when the file changes: the graph reloads it.")
    entities: list[Entity]
    relations: list[Relation]

    @model_validator(mode="after")
    def _relations_name_entities(self) -> Ontology:
        keys = [e.key for e in self.entities]
        if len(set(keys)) != len(keys):
            raise ValueError("two entities share a name (case and punctuation ignored)")
        known = set(keys)
        for r in self.relations:
            for end in (r.subject, r.object):
                if entity_key(end) not in known:
                    raise ValueError(f"relation {r.subject} {r.relation} {r.object}: no {end!r}")
        return self


def load_ontology(path: Path) -> Ontology:
    return Ontology.model_validate(json.loads(path.read_text(encoding="utf-8")))

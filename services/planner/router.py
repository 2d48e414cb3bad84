"""The semantic router: a request close to one category's prototype phrases, and
clearly closer than to any other category's, becomes one task of that category without
a planner model call. Prototypes live in a JSON file the user can edit (category ->
phrases); they are embedded once, at start-up."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import structlog

from services.planner.embeddings import Embedder, Vectors

log = structlog.get_logger()

DEFAULT_PROTOTYPES = Path(__file__).with_name("router_prototypes.json")


@dataclass(frozen=True)
class Route:
    category: str
    distance: float
    """Cosine distance to the nearest prototype of `category`."""
    margin: float
    """How much farther the runner-up category's nearest prototype is."""


def load_prototypes(path: Path) -> dict[str, list[str]]:
    """category -> phrases; keys starting with '_' are comments."""
    loaded = json.loads(path.read_text(encoding="utf-8"))
    prototypes = {
        category: [str(p) for p in phrases if str(p).strip()]
        for category, phrases in loaded.items()
        if not category.startswith("_")
    }
    if len([c for c, phrases in prototypes.items() if phrases]) < 2:
        raise ValueError(f"{path}: the router needs phrases for at least two categories")
    return prototypes


class SemanticRouter:
    def __init__(
        self, embedder: Embedder, path: Path, max_distance: float, min_margin: float
    ) -> None:
        self._embedder = embedder
        self._path = path
        self.max_distance = max_distance
        self.min_margin = min_margin
        self._categories: list[str] = []
        self._matrix: Vectors | None = None
        self._owner: np.ndarray = np.zeros(0, dtype=np.int64)

    @property
    def ready(self) -> bool:
        return self._matrix is not None

    async def start(self) -> None:
        prototypes = load_prototypes(self._path)
        self._categories = sorted(prototypes)
        phrases = [(i, p) for i, c in enumerate(self._categories) for p in prototypes[c]]
        self._owner = np.array([i for i, _ in phrases], dtype=np.int64)
        self._matrix = await self._embedder.embed([p for _, p in phrases])
        log.info("router_ready", categories=len(self._categories), prototypes=len(phrases))

    def nearest(self, vector: Vectors) -> Route | None:
        """The nearest category and how clearly it won; None before start-up."""
        if self._matrix is None:
            return None
        similarity = self._matrix @ vector
        best = np.full(len(self._categories), -1.0, dtype=np.float32)
        np.maximum.at(best, self._owner, similarity)
        first, second = np.argsort(best)[::-1][:2]
        return Route(
            self._categories[int(first)],
            distance=round(1.0 - float(best[first]), 4),
            margin=round(float(best[first] - best[second]), 4),
        )

    def route(self, vector: Vectors) -> Route | None:
        """A clear match, or None (a near tie or nothing close goes to the planner)."""
        found = self.nearest(vector)
        if found is None or found.distance > self.max_distance or found.margin < self.min_margin:
            return None
        return found

"""The semantic router with the real offline embedding model: clear matches are routed
to their category, near ties and far questions are left to the planner."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.planner.embeddings import LocalEmbedder
from services.planner.router import DEFAULT_PROTOTYPES, SemanticRouter, load_prototypes


@pytest.fixture(scope="module")
async def embedder() -> AsyncIterator[LocalEmbedder]:
    local = LocalEmbedder()
    await local.start()
    yield local
    await local.aclose()


async def router_for(embedder: LocalEmbedder, path: Path = DEFAULT_PROTOTYPES) -> SemanticRouter:
    router = SemanticRouter(embedder, path, max_distance=0.68, min_margin=0.10)
    await router.start()
    return router


@pytest.mark.parametrize(
    ("question", "category"),
    [
        ("What are the early signs of a stroke?", "medical_consult"),
        ("Translate 'where is the train station' into German", "translation"),
        ("How do I compute the determinant of a 3x3 matrix?", "math"),
        ("Can my employer read my private messages?", "legal_advisor"),
    ],
)
async def test_clear_match_is_routed_to_its_category(
    embedder: LocalEmbedder, question: str, category: str
) -> None:
    router = await router_for(embedder)
    [vector] = await embedder.embed([question])
    route = router.route(vector)
    assert route is not None and route.category == category
    assert route.distance <= 0.68 and route.margin >= 0.10


async def test_far_question_is_left_to_the_planner(embedder: LocalEmbedder) -> None:
    router = await router_for(embedder)
    [vector] = await embedder.embed(["zxq vlorp 7734 blenkish"])
    nearest = router.nearest(vector)
    assert nearest is not None and nearest.distance > 0.68
    assert router.route(vector) is None


async def test_near_tie_is_left_to_the_planner(embedder: LocalEmbedder, tmp_path: Path) -> None:
    same = ["Write a short poem about the sea", "Describe the ocean at night"]
    path = tmp_path / "prototypes.json"
    path.write_text(json.dumps({"creative_writer": same, "general": same}))
    router = await router_for(embedder, path)
    [vector] = await embedder.embed(["Write a short poem about the sea at dawn"])
    nearest = router.nearest(vector)
    assert nearest is not None and nearest.distance < 0.68 and nearest.margin == 0
    assert router.route(vector) is None


def test_prototype_file_needs_two_categories(tmp_path: Path) -> None:
    path = tmp_path / "prototypes.json"
    path.write_text(json.dumps({"_about": "comment", "general": ["hello"]}))
    with pytest.raises(ValueError, match="two categories"):
        load_prototypes(path)
    assert "_about" not in load_prototypes(DEFAULT_PROTOTYPES)

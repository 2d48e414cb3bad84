"""The semantic cache on a real embedded ChromaDB with the real embedding model: what is
kept, what is found, and feedback that arrives before its answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from contracts import AnswerCommitted, FeedbackGiven
from services.planner.embeddings import LocalEmbedder
from services.planner.semantic_cache import SemanticCache

LONG = "A consumer group shares the partitions of a topic among its members. " * 3


@pytest.fixture(scope="module")
async def embedder() -> AsyncIterator[LocalEmbedder]:
    local = LocalEmbedder()
    await local.start()
    yield local
    await local.aclose()


@pytest.fixture
async def cache(embedder: LocalEmbedder, tmp_path: Path) -> SemanticCache:
    semantic = SemanticCache(embedder, threshold=0.15, path=tmp_path / "chroma")
    await semantic.start()
    return semantic


def answer(response_id: str, text: str = LONG, key: str | None = "default:q:k") -> AnswerCommitted:
    return AnswerCommitted(
        request_id=response_id,
        tenant="acme",
        response_id=response_id,
        question="How does a consumer group share partitions?",
        answer=text,
        cache_key=key,
    )


async def nearest(
    cache: SemanticCache, embedder: LocalEmbedder, tenant: str, mode: str
) -> str | None:
    [vector] = await embedder.embed(["How do consumer groups share the partitions?"])
    hit = await cache.lookup(tenant, mode, vector)
    return None if hit is None else hit.answer.response_id


async def test_a_kept_answer_is_found_by_a_paraphrase_in_its_tenant_and_mode_only(
    cache: SemanticCache, embedder: LocalEmbedder, tmp_path: Path
) -> None:
    committed = answer("r1")
    assert await cache.store(committed, "default", committed.question)
    assert await nearest(cache, embedder, "acme", "default") == "r1"
    assert await nearest(cache, embedder, "globex", "default") is None
    assert await nearest(cache, embedder, "acme", "concise") is None
    await cache.flag(FeedbackGiven(request_id="r1", response_id="r1", rating=-1))
    assert await nearest(cache, embedder, "acme", "default") is None
    # The flag is in the store, not only in this instance: another planner skips it too.
    other = SemanticCache(embedder, threshold=0.15, path=tmp_path / "chroma")
    await other.start()
    assert await nearest(other, embedder, "acme", "default") is None
    second = answer("r3")
    assert await other.store(second, "default", second.question)
    assert await nearest(other, embedder, "acme", "default") == "r3"  # past the flagged one


async def test_short_or_uncacheable_answers_are_not_kept(cache: SemanticCache) -> None:
    assert not await cache.store(answer("short", text="Yes."), "default", "q")
    assert not await cache.store(answer("cut", key=None), "default", "q")


async def test_feedback_read_before_its_answer_still_keeps_the_answer_out(
    cache: SemanticCache, embedder: LocalEmbedder
) -> None:
    await cache.flag(FeedbackGiven(request_id="r2", response_id="r2", rating=-1))
    committed = answer("r2")
    assert not await cache.store(committed, "default", committed.question)
    assert await nearest(cache, embedder, "acme", "default") is None

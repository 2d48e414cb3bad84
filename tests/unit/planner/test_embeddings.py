"""Embeddings, offline: the packaged MiniLM puts paraphrases close and unrelated text far,
runs off the event loop and batches concurrent requests; an OpenAI-compatible
/v1/embeddings endpoint can stand in for it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI

from services.planner.embeddings import LocalEmbedder, OnnxMiniLM, RemoteEmbedder, Vectors
from tests.support.servers import serve


class CountingModel(OnnxMiniLM):
    """The real model, noting each run's batch size and thread."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []
        self.threads: set[str] = set()

    def __call__(self, texts: list[str]) -> Vectors:
        self.batches.append(len(texts))
        self.threads.add(threading.current_thread().name)
        return super().__call__(texts)


@pytest.fixture(scope="module")
def model() -> CountingModel:
    return CountingModel()


@pytest.fixture
async def embedder(model: CountingModel) -> AsyncIterator[LocalEmbedder]:
    local = LocalEmbedder(model)
    await local.start()
    yield local
    await local.aclose()


async def test_paraphrases_are_close_and_unrelated_text_is_far(embedder: LocalEmbedder) -> None:
    a, b, c = await embedder.embed(
        [
            "How can I reset my account password?",
            "How do I reset the password of my account?",
            "The capital of France is Paris.",
        ]
    )
    assert np.isclose(float(a @ a), 1.0, atol=1e-5)  # normalised: dot = cosine
    assert 1 - float(a @ b) < 0.15 < 0.5 < 1 - float(a @ c)


async def test_concurrent_requests_are_batched_off_the_event_loop(
    embedder: LocalEmbedder, model: CountingModel
) -> None:
    texts = [f"Question number {i} about Kafka partitions" for i in range(8)]
    alone = [await embedder.embed([text]) for text in texts]
    model.batches.clear()
    together = await asyncio.gather(*(embedder.embed([text]) for text in texts))
    assert len(model.batches) < len(texts) and sum(model.batches) == len(texts)
    for single, batched in zip(alone, together, strict=True):
        assert np.allclose(single, batched, atol=1e-4)
    assert threading.main_thread().name not in model.threads


async def test_a_remote_embeddings_endpoint_is_read_in_input_order() -> None:
    app = FastAPI()
    seen: list[dict[str, Any]] = []

    @app.post("/v1/embeddings")
    async def embeddings(body: dict[str, Any]) -> dict[str, Any]:
        seen.append(body)
        # Listed out of order, not normalised: the client must sort and normalise.
        data = [
            {"index": i, "embedding": [float(i + 1), 0.0, 3.0]} for i in range(len(body["input"]))
        ]
        return {"data": list(reversed(data))}

    async with serve(app) as url:
        remote = RemoteEmbedder(f"{url}/v1", "minilm")
        try:
            vectors = await remote.embed(["a", "b"])
        finally:
            await remote.aclose()
    assert seen == [{"model": "minilm", "input": ["a", "b"]}]
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert vectors[0][0] < vectors[1][0]  # [1, 0, 3] then [2, 0, 3]

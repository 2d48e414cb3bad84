"""The semantic cache: earlier answers found by meaning, in ChromaDB.

A lookup embeds the question and asks Chroma for the nearest 3 entries of the same
tenant and mode that no negative feedback flagged; the nearest closer than the hit
threshold (cosine distance) is served. Entries are written by one consumer group of
moe.answers (so several planners never write twice) and flagged on moe.feedback.
Chroma's client is blocking, so every call runs in a worker thread."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from contracts import AnswerCommitted, CachedAnswer, FeedbackGiven
from services.planner.embeddings import Embedder, Vectors

log = structlog.get_logger()

COLLECTION = "moe-answers"
NEAREST = 3
MIN_ANSWER_CHARS = 150  # short answers are cheap to make again and often context-bound
MAX_FLAGGED = 10_000


@dataclass(frozen=True)
class SemanticHit:
    answer: CachedAnswer
    distance: float


def open_collection(path: Path | None, host: str | None, port: int | None) -> Any:
    """Chroma's server (`HttpClient`) when a host is set, else embedded at `path`."""
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False)
    if host:
        client = chromadb.HttpClient(host=host, port=port or 8000, settings=settings)
    else:
        client = chromadb.PersistentClient(path=str(path), settings=settings)
    return client.get_or_create_collection(
        COLLECTION, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
    )


class SemanticCache:
    def __init__(
        self,
        embedder: Embedder,
        threshold: float,
        path: Path | None = None,
        host: str | None = None,
        port: int | None = None,
    ) -> None:
        self._embedder = embedder
        self.threshold = threshold
        self._where = (path, host, port)
        self._collection: Any = None
        # Feedback may be read before its answer (the writer catching up reads both
        # topics at its own pace), so flagged ids are remembered, bounded.
        self._flagged: OrderedDict[str, None] = OrderedDict()

    @property
    def ready(self) -> bool:
        return self._collection is not None

    async def start(self) -> None:
        self._collection = await asyncio.to_thread(open_collection, *self._where)

    async def lookup(self, tenant: str, mode: str, vector: Vectors) -> SemanticHit | None:
        """The nearest unflagged answer of this tenant and mode within the threshold."""
        where = {"$and": [{"tenant": tenant}, {"mode": mode}, {"flagged": False}]}
        found = await asyncio.to_thread(
            self._collection.query,
            query_embeddings=vector[None, :],
            n_results=NEAREST,
            where=where,
            include=["distances", "documents", "metadatas"],
        )
        for distance, document, metadata in zip(
            found["distances"][0], found["documents"][0], found["metadatas"][0], strict=True
        ):
            if distance < self.threshold and document:
                answer = CachedAnswer(response_id=str(metadata["response_id"]), answer=document)
                return SemanticHit(answer, float(distance))
        return None

    async def store(self, committed: AnswerCommitted, mode: str, text: str) -> bool:
        """Keep a cacheable answer long enough to be worth it, under its question's
        embedding; True if it was stored."""
        if committed.cache_key is None or len(committed.answer.strip()) <= MIN_ANSWER_CHARS:
            return False
        if committed.response_id in self._flagged:
            return False
        [vector] = await self._embedder.embed([text])
        metadata = {
            "tenant": committed.tenant,
            "mode": mode,
            "flagged": False,
            "response_id": committed.response_id,
            "question": text[:1000],
        }
        await asyncio.to_thread(
            self._collection.upsert,
            ids=[committed.response_id],
            embeddings=vector[None, :],
            documents=[committed.answer],
            metadatas=[metadata],
        )
        return True

    async def flag(self, feedback: FeedbackGiven) -> None:
        """Negative feedback: the entry stays (for audit) but is never served again."""
        if feedback.rating > 0:
            return
        self._flagged[feedback.response_id] = None
        while len(self._flagged) > MAX_FLAGGED:
            self._flagged.popitem(last=False)
        known = await asyncio.to_thread(self._collection.get, ids=[feedback.response_id])
        if known["ids"]:
            await asyncio.to_thread(
                self._collection.update, ids=[feedback.response_id], metadatas=[{"flagged": True}]
            )
            log.info("semantic_cache_flagged", response_id=feedback.response_id)

"""The semantic cache: earlier answers found by meaning, in ChromaDB.

A lookup embeds the question and asks Chroma for the nearest 3 entries of the same
tenant and mode; the nearest unflagged one closer than the hit threshold (cosine
distance) is served. Each tenant and mode has a collection of its own: a query filtered
by metadata (tenant, mode, flagged) took 2.2 ms against 0.7 ms unfiltered (300 entries,
this project's machine), on the path of every question the cache sees. Entries are
written by one consumer group of moe.answers (so several planners never write twice)
and flagged on moe.feedback. Chroma's client is blocking, so every call runs in a worker
thread."""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from contracts import AnswerCommitted, CachedAnswer, FeedbackGiven
from services.planner.embeddings import Embedder, Vectors

log = structlog.get_logger()

COLLECTION_PREFIX = "moe-answers-"
NEAREST = 3
MIN_ANSWER_CHARS = 150  # short answers are cheap to make again and often context-bound
MAX_FLAGGED = 10_000


@dataclass(frozen=True)
class SemanticHit:
    answer: CachedAnswer
    distance: float


def open_client(path: Path | None, host: str | None, port: int | None) -> Any:
    """Chroma's server (`HttpClient`) when a host is set, else embedded at `path`."""
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False)
    if host:
        return chromadb.HttpClient(host=host, port=port or 8000, settings=settings)
    return chromadb.PersistentClient(path=str(path), settings=settings)


def collection_name(tenant: str, mode: str) -> str:
    """A valid Chroma name whatever the tenant's name holds (it comes from the API keys)."""
    digest = hashlib.sha256(f"{tenant}\0{mode}".encode()).hexdigest()[:32]
    return f"{COLLECTION_PREFIX}{digest}"


def tenant_collection(client: Any, tenant: str, mode: str) -> Any:
    """The collection of one tenant's answers in one mode (made on first use)."""
    return client.get_or_create_collection(
        collection_name(tenant, mode),
        metadata={"tenant": tenant, "mode": mode},
        configuration={"hnsw": {"space": "cosine"}},
        embedding_function=None,
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
        self._client: Any = None
        self._collections: dict[str, Any] = {}
        # Feedback may be read before its answer (the writer catching up reads both
        # topics at its own pace), so flagged ids are remembered, bounded.
        self._flagged: OrderedDict[str, None] = OrderedDict()

    @property
    def ready(self) -> bool:
        return self._client is not None

    async def start(self) -> None:
        self._client = await asyncio.to_thread(open_client, *self._where)

    def _collection(self, tenant: str, mode: str) -> Any:
        """Blocking (run it in a thread): the handle is kept after its first use."""
        name = collection_name(tenant, mode)
        found = self._collections.get(name)
        if found is None:
            found = self._collections[name] = tenant_collection(self._client, tenant, mode)
        return found

    def _nearest(self, tenant: str, mode: str, vector: Vectors) -> Any:
        return self._collection(tenant, mode).query(
            query_embeddings=vector[None, :],
            n_results=NEAREST,
            include=["distances", "documents", "metadatas"],
        )

    async def lookup(self, tenant: str, mode: str, vector: Vectors) -> SemanticHit | None:
        """The nearest unflagged answer of this tenant and mode within the threshold."""
        found = await asyncio.to_thread(self._nearest, tenant, mode, vector)
        for distance, document, metadata in zip(
            found["distances"][0], found["documents"][0], found["metadatas"][0], strict=True
        ):
            response_id = str(metadata["response_id"])
            if metadata.get("flagged") or response_id in self._flagged:
                continue  # a flagged neighbour is skipped, never served
            if distance < self.threshold and document:
                return SemanticHit(CachedAnswer(response_id=response_id, answer=document), distance)
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
        await asyncio.to_thread(self._upsert, committed, mode, vector, metadata)
        return True

    def _upsert(
        self, committed: AnswerCommitted, mode: str, vector: Vectors, metadata: dict[str, Any]
    ) -> None:
        self._collection(committed.tenant, mode).upsert(
            ids=[committed.response_id],
            embeddings=vector[None, :],
            documents=[committed.answer],
            metadatas=[metadata],
        )

    async def flag(self, feedback: FeedbackGiven) -> None:
        """Negative feedback: the entry stays (for audit) but is never served again."""
        if feedback.rating > 0:
            return
        self._flagged[feedback.response_id] = None
        while len(self._flagged) > MAX_FLAGGED:
            self._flagged.popitem(last=False)
        if await asyncio.to_thread(self._flag_stored, feedback.response_id):
            log.info("semantic_cache_flagged", response_id=feedback.response_id)

    def _flag_stored(self, response_id: str) -> bool:
        """Marks the entry flagged in whichever collection holds it (response ids are
        unique; negative feedback is rare enough to look in each)."""
        for collection in self._client.list_collections():
            if not collection.name.startswith(COLLECTION_PREFIX):
                continue
            if collection.get(ids=[response_id])["ids"]:
                collection.update(ids=[response_id], metadatas=[{"flagged": True}])
                return True
        return False

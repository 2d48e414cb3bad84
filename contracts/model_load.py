"""How busy a model server is right now, read from what it exposes, so that a client
waiting on a full server can be told "waiting for the model" instead of silence.

llama.cpp's `llama-server` reports busy slots and queued (deferred) requests on its
Prometheus `/metrics` (`--metrics`) and each slot on `/slots`; vLLM reports running and
waiting requests on `/metrics`. Anything else (llama-cpp-python's `llama_cpp.server`,
Ollama, LiteLLM) exposes no load: its figures are None and `source` is "unknown"."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

from contracts.inference import InferenceServer

LOAD_TIMEOUT_S = 2.0
"""Per request: a server too busy to answer its metrics in this time counts as unknown."""

LoadSource = Literal["llama.cpp", "vllm", "unknown"]

# (source, gauge of requests being decoded, gauge of requests waiting for a slot)
_METRICS: tuple[tuple[LoadSource, str, str], ...] = (
    ("llama.cpp", "llamacpp:requests_processing", "llamacpp:requests_deferred"),
    ("vllm", "vllm:num_requests_running", "vllm:num_requests_waiting"),
)


class ModelLoad(BaseModel):
    """One server's load; a figure the server does not expose is None."""

    model_config = ConfigDict(frozen=True)

    server: str = Field(description="The INFERENCE_SERVERS entry's name.")
    source: LoadSource = Field(description="Whose metrics were read; unknown: none.")
    busy_slots: int | None = Field(default=None, description="Requests being decoded now.")
    total_slots: int | None = Field(default=None, description="Requests it decodes at once.")
    queued: int | None = Field(default=None, description="Requests waiting for a slot.")
    reason: str | None = Field(default=None, description="Why the load is unknown.")

    @property
    def saturated(self) -> bool | None:
        """Every slot busy or a request waiting; None when the server does not say."""
        if self.queued:
            return True
        if self.busy_slots is None or self.total_slots is None:
            return None
        return self.busy_slots >= self.total_slots


def server_root(url: str) -> str:
    """The server's own root from an OpenAI base URL: metrics live beside /v1."""
    return url.rstrip("/").removesuffix("/v1")


async def read_model_load(
    server: InferenceServer, client: httpx.AsyncClient, timeout_s: float = LOAD_TIMEOUT_S
) -> ModelLoad:
    """Ask `server` for its load (`/metrics` and `/slots` at once); never raises: an
    unreachable or silent server gives source "unknown" and the reason."""
    root = server_root(server.url)
    headers = {"Authorization": f"Bearer {server.token}"}
    metrics, slots = await asyncio.gather(
        _get(client, f"{root}/metrics", headers, timeout_s),
        _get(client, f"{root}/slots", headers, timeout_s),
    )
    if isinstance(metrics, httpx.TransportError) and isinstance(slots, httpx.TransportError):
        reason = f"unreachable or not answering: {type(metrics).__name__}: {metrics}"
        return ModelLoad(server=server.name, source="unknown", reason=reason.strip())
    gauges = _gauges(metrics)
    busy, total = _slots(slots)
    for source, running, waiting in _METRICS:
        if running in gauges:
            return ModelLoad(
                server=server.name,
                source=source,
                busy_slots=int(gauges[running]),
                total_slots=total,
                queued=int(gauges[waiting]) if waiting in gauges else None,
            )
    if total is not None:  # llama-server without --metrics: slots, but no queue
        return ModelLoad(server=server.name, source="llama.cpp", busy_slots=busy, total_slots=total)
    return ModelLoad(
        server=server.name, source="unknown", reason="the server exposes no load metrics"
    )


async def read_model_loads(
    servers: Sequence[InferenceServer],
    client: httpx.AsyncClient,
    timeout_s: float = LOAD_TIMEOUT_S,
) -> list[ModelLoad]:
    """Every server's load, asked at once, in the order given."""
    return list(await asyncio.gather(*(read_model_load(s, client, timeout_s) for s in servers)))


async def _get(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], timeout_s: float
) -> httpx.Response | httpx.TransportError:
    try:
        return await client.get(url, headers=headers, timeout=timeout_s)
    except httpx.TransportError as exc:
        return exc


def _gauges(response: httpx.Response | httpx.TransportError) -> dict[str, float]:
    """Prometheus text exposition: each metric's value, summed over its label sets."""
    if not isinstance(response, httpx.Response) or response.status_code != 200:
        return {}
    values: dict[str, float] = {}
    for line in response.text.splitlines():
        sample = _sample(line)
        if sample is not None:
            values[sample[0]] = values.get(sample[0], 0.0) + sample[1]
    return values


def _sample(line: str) -> tuple[str, float] | None:
    """`name{labels} value [timestamp]` as (name, value); None for comments and noise.
    Label values may hold spaces, so the value is read after the closing brace."""
    if not line.strip() or line.startswith("#"):
        return None
    if "{" in line:
        name, _, labelled = line.partition("{")
        fields = labelled.rpartition("}")[2].split()
    else:
        name, *fields = line.split()
    try:
        return name.strip(), float(fields[0])
    except (IndexError, ValueError):
        return None


def _slots(response: httpx.Response | httpx.TransportError) -> tuple[int | None, int | None]:
    """(busy, total) from llama-server's /slots: a JSON list, one object per slot."""
    if not isinstance(response, httpx.Response) or response.status_code != 200:
        return None, None
    try:
        slots = response.json()
    except ValueError:
        return None, None
    if not isinstance(slots, list) or not all(isinstance(s, dict) for s in slots):
        return None, None
    return sum(1 for slot in slots if slot.get("is_processing")), len(slots)

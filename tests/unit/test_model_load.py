"""contracts.model_load against a scripted HTTP server that answers /metrics and /slots
the way llama.cpp's llama-server, vLLM and a server without metrics do."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from contracts.inference import InferenceServer
from contracts.model_load import ModelLoad, read_model_load, read_model_loads, server_root

LLAMA_METRICS = """\
# HELP llamacpp:prompt_tokens_total Number of prompt tokens processed.
# TYPE llamacpp:prompt_tokens_total counter
llamacpp:prompt_tokens_total 5120
# HELP llamacpp:requests_processing Number of requests processing.
# TYPE llamacpp:requests_processing gauge
llamacpp:requests_processing 2
# HELP llamacpp:requests_deferred Number of requests deferred.
# TYPE llamacpp:requests_deferred gauge
llamacpp:requests_deferred 3
"""
VLLM_METRICS = """\
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="Qwen/Qwen2.5 7B"} 5.0
vllm:num_requests_running{engine="1",model_name="Qwen/Qwen2.5 7B"} 2.0
vllm:num_requests_waiting{engine="0",model_name="Qwen/Qwen2.5 7B"} 1.0 1733470000000
"""
FOUR_SLOTS = [{"id": i, "n_ctx": 4096, "is_processing": i < 2} for i in range(4)]


def figures(load: ModelLoad) -> tuple[str, int | None, int | None, int | None]:
    """(source, busy slots, total slots, queued)."""
    return load.source, load.busy_slots, load.total_slots, load.queued


@dataclass
class Scripted:
    """Canned answers by path, (status, body); a path not scripted answers 404."""

    routes: dict[str, tuple[int, str]] = field(default_factory=dict)
    seen_auth: list[str | None] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    script = Scripted()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            script.seen_auth.append(self.headers.get("Authorization"))
            status, body = script.routes.get(self.path, (404, "not found"))
            payload = body.encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    script.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield script
    finally:
        server.shutdown()
        server.server_close()


async def test_llama_server_reports_busy_total_and_queued(scripted: Scripted) -> None:
    scripted.routes = {"/metrics": (200, LLAMA_METRICS), "/slots": (200, json.dumps(FOUR_SLOTS))}
    server = InferenceServer(name="local", url=scripted.url, token="sk-1")
    async with httpx.AsyncClient() as client:
        load = await read_model_load(server, client)
    assert figures(load) == ("llama.cpp", 2, 4, 3)
    assert load.server == "local" and load.reason is None
    assert load.saturated is True
    assert scripted.seen_auth == ["Bearer sk-1", "Bearer sk-1"]


async def test_llama_server_without_metrics_still_reports_its_slots(scripted: Scripted) -> None:
    scripted.routes = {
        "/metrics": (501, '{"error": "This server does not support metrics endpoint."}'),
        "/slots": (200, json.dumps(FOUR_SLOTS)),
    }
    server = InferenceServer(name="local", url=scripted.url)
    async with httpx.AsyncClient() as client:
        load = await read_model_load(server, client)
    assert figures(load) == ("llama.cpp", 2, 4, None)
    assert load.saturated is False


async def test_vllm_running_and_waiting_are_summed_over_label_sets(scripted: Scripted) -> None:
    scripted.routes = {"/metrics": (200, VLLM_METRICS)}
    server = InferenceServer(name="gpu1", url=scripted.url + "/")
    async with httpx.AsyncClient() as client:
        load = await read_model_load(server, client)
    assert figures(load) == ("vllm", 7, None, 1)
    assert load.saturated is True


async def test_a_server_without_load_metrics_is_unknown(scripted: Scripted) -> None:
    scripted.routes = {"/metrics": (200, "# nothing here\nprocess_cpu_seconds_total 3.5\n")}
    server = InferenceServer(name="local", url=scripted.url)
    async with httpx.AsyncClient() as client:
        load = await read_model_load(server, client)
    assert figures(load) == ("unknown", None, None, None)
    assert load.reason and load.saturated is None


async def test_an_unreachable_server_is_unknown_and_says_so(scripted: Scripted) -> None:
    scripted.routes = {"/metrics": (200, LLAMA_METRICS)}
    servers = [
        InferenceServer(name="gone", url="http://127.0.0.1:9/v1"),
        InferenceServer(name="local", url=scripted.url),
    ]
    async with httpx.AsyncClient() as client:
        gone, local = await read_model_loads(servers, client, timeout_s=1.0)
    assert gone.server == "gone" and gone.source == "unknown"
    assert gone.reason and "unreachable" in gone.reason
    assert figures(local) == ("llama.cpp", 2, None, 3)


def test_metrics_live_beside_the_openai_base_url() -> None:
    assert server_root("http://gpu1:8000/v1") == "http://gpu1:8000"
    assert server_root("http://gpu1:8000/v1/") == "http://gpu1:8000"
    assert server_root("http://proxy/llm/v1") == "http://proxy/llm"

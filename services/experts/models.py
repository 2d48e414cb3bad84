"""Which model answers a category, and the long-lived OpenAI clients that reach it."""

from __future__ import annotations

from dataclasses import dataclass

from openai import AsyncOpenAI

from contracts.inference import find_server
from services.experts.settings import ExpertSettings


@dataclass(frozen=True)
class ExpertBinding:
    category: str
    model: str
    client: AsyncOpenAI


class ModelPool:
    """One AsyncOpenAI client per inference server, shared by every task."""

    def __init__(self, settings: ExpertSettings) -> None:
        self._settings = settings
        self._clients: dict[str, AsyncOpenAI] = {}
        # Fail at start-up, not on the first request, when EXPERT_MODELS names an
        # endpoint that INFERENCE_SERVERS lacks.
        for models in settings.expert_models.values():
            for ref in models:
                find_server(settings.inference_servers, ref.endpoint)

    def _client(self, endpoint: str) -> AsyncOpenAI:
        client = self._clients.get(endpoint)
        if client is None:
            server = find_server(self._settings.inference_servers, endpoint)
            # One retry covers a dropped keep-alive connection; more would only delay
            # the error the client is waiting for.
            client = AsyncOpenAI(
                base_url=server.url, api_key=server.token, timeout=server.timeout, max_retries=1
            )
            self._clients[endpoint] = client
        return client

    def bind(self, category: str) -> ExpertBinding:
        models = self._settings.expert_models
        chosen = category if models.get(category) else "general"
        candidates = models.get(chosen) or next(iter(models.values()))
        ref = candidates[0]
        return ExpertBinding(category=chosen, model=ref.model, client=self._client(ref.endpoint))

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()

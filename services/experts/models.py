"""Which model answers a category, and the long-lived clients that reach it."""

from __future__ import annotations

from dataclasses import dataclass

from contracts.inference import find_server
from contracts.model_stream import ModelClient
from services.experts.settings import ExpertSettings


@dataclass(frozen=True)
class ExpertBinding:
    category: str
    model: str
    client: ModelClient


class ModelPool:
    """One client per inference server, shared by every task."""

    def __init__(self, settings: ExpertSettings) -> None:
        self._settings = settings
        self._clients: dict[str, ModelClient] = {}
        # Fail at start-up, not on the first request, when EXPERT_MODELS names an
        # endpoint that INFERENCE_SERVERS lacks.
        for models in settings.expert_models.values():
            for ref in models:
                find_server(settings.inference_servers, ref.endpoint)

    def _client(self, endpoint: str) -> ModelClient:
        client = self._clients.get(endpoint)
        if client is None:
            client = ModelClient(find_server(self._settings.inference_servers, endpoint))
            self._clients[endpoint] = client
        return client

    def candidates(self, category: str) -> list[ExpertBinding]:
        """Every model configured for the category (or, lacking one, for `general`), in
        the order EXPERT_MODELS lists them: the first answers, the others stand in when
        it fails."""
        models = self._settings.expert_models
        chosen = category if models.get(category) else "general"
        refs = models.get(chosen) or next(iter(models.values()))
        return [
            ExpertBinding(category=chosen, model=ref.model, client=self._client(ref.endpoint))
            for ref in refs
        ]

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()

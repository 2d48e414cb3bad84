"""Which models answer a category, in which tier, and the long-lived clients that reach
them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from contracts.inference import ExpertModel, find_server
from contracts.model_stream import ModelClient
from services.experts.settings import ExpertSettings

TIER_1_MAX_BILLIONS = 20.0
# "llama3.1:8b", "qwen2.5-72b-instruct", "mixtral-8x7b" (56B), "phi-3.5-mini-3.8B".
_PARAMETERS = re.compile(r"(?<![a-z0-9.])(?:(\d+)x)?(\d+(?:\.\d+)?)b(?![a-z])", re.IGNORECASE)


def tier_of(ref: ExpertModel) -> int:
    """The model's tier: as configured, else from the parameter count in its name
    (<= 20B, or no count given, is tier 1)."""
    if ref.tier is not None:
        return ref.tier
    found = _PARAMETERS.findall(ref.model)
    if not found:
        return 1
    experts, size = found[-1]
    billions = float(size) * (int(experts) if experts else 1)
    return 1 if billions <= TIER_1_MAX_BILLIONS else 2


@dataclass(frozen=True)
class ExpertBinding:
    category: str
    model: str
    client: ModelClient
    tier: int = 1
    note: str | None = None
    """Why this model answers against its rule (a low score, kept as the only model)."""


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
        the order EXPERT_MODELS lists them."""
        models = self._settings.expert_models
        chosen = category if models.get(category) else "general"
        refs = models.get(chosen) or next(iter(models.values()))
        return [
            ExpertBinding(
                category=chosen,
                model=ref.model,
                client=self._client(ref.endpoint),
                tier=tier_of(ref),
            )
            for ref in refs
        ]

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()

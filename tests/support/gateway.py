"""The official openai client pointed at a gateway, as users point theirs."""

from __future__ import annotations

import openai


def gateway_client(gateway_url: str) -> openai.AsyncOpenAI:
    """No retries: a test sees the gateway's first answer, errors included."""
    return openai.AsyncOpenAI(base_url=f"{gateway_url}/v1", api_key="unused", max_retries=0)

"""The OpenAI chat-completions request the gateway accepts, and the shapes it returns."""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts import ChatMessage, GenerationOptions, Usage


class TextPart(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Literal["text"]
    text: str


class InboundMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[TextPart] | None = None

    def to_contract(self) -> ChatMessage:
        content = self.content
        if isinstance(content, list):
            content = "".join(part.text for part in content)
        return ChatMessage(role=self.role, content=content or "")


class StreamOptions(BaseModel):
    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    # Unknown OpenAI fields (tools, logprobs, …) are accepted and ignored, as vLLM does.
    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1)
    messages: list[InboundMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stop: str | list[str] | None = None
    n: int = Field(default=1, ge=1, le=1, description="Only one choice is supported.")
    user: str | None = None

    @field_validator("messages")
    @classmethod
    def _needs_content(cls, messages: list[InboundMessage]) -> list[InboundMessage]:
        if not any(m.content for m in messages if m.role in ("user", "developer", "system")):
            raise ValueError("at least one user or system message must have content")
        return messages

    def options(self) -> GenerationOptions:
        stop = [self.stop] if isinstance(self.stop, str) else self.stop
        return GenerationOptions(
            temperature=self.temperature,
            top_p=self.top_p,
            max_tokens=self.max_completion_tokens or self.max_tokens,
            stop=stop,
        )

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)


def usage_body(usage: Usage) -> dict[str, int]:
    return usage.model_dump()


def chunk(
    response_id: str, model: str, delta: dict[str, str], finish_reason: str | None = None
) -> dict[str, Any]:
    return {
        "id": response_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


def usage_chunk(response_id: str, model: str, usage: Usage) -> dict[str, Any]:
    body = chunk(response_id, model, {})
    body["choices"] = []
    body["usage"] = usage_body(usage)
    return body


def completion(
    response_id: str,
    model: str,
    content: str,
    finish_reason: str,
    usage: Usage,
    reasoning: str | None = None,
) -> dict[str, Any]:
    message = {"role": "assistant", "content": content}
    if reasoning is not None:
        message["reasoning_content"] = reasoning
    return {
        "id": response_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": finish_reason,
            }
        ],
        "usage": usage_body(usage),
    }

"""W3C trace context on every event, with or without recorded spans.

When the operator configures OpenTelemetry (OTEL_TRACES_SAMPLER), FastStream's
telemetry middleware records a span per publish and per consume. Otherwise nothing
would export those spans, yet creating them cost about an eighth of an expert's CPU
(two spans and a metrics update per streamed token). Then this module's middleware only
carries the trace on: each event published while handling another gets the incoming
trace id with a fresh parent id, and an event published outside any handler (the
gateway's request) starts a new trace. A request's whole trail keeps one trace id."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, Final

from faststream import BaseMiddleware
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.message import StreamMessage
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

TRACEPARENT: Final = "traceparent"
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-[0-9a-f]{16}-([0-9a-f]{2})$")
_INVALID_TRACE_ID: Final = "0" * 32

# (trace id, flags) of the event being handled in this task, if any.
_incoming: ContextVar[tuple[str, str] | None] = ContextVar("moe_incoming_trace", default=None)


def tracing_configured() -> bool:
    return bool(os.environ.get("OTEL_TRACES_SAMPLER"))


def parse_traceparent(value: str | bytes | None) -> tuple[str, str] | None:
    """(trace id, flags) of a valid W3C traceparent, else None."""
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    match = _TRACEPARENT.match(value or "")
    if match is None or match.group(1) == _INVALID_TRACE_ID:
        return None
    return match.group(1), match.group(2)


def child_traceparent(parent: tuple[str, str] | None) -> str:
    """A traceparent continuing `parent`'s trace (or a new one) from a new parent id."""
    trace_id, flags = parent or (secrets.token_hex(16), "00")
    return f"00-{trace_id}-{secrets.token_hex(8)}-{flags}"


def outgoing_traceparent() -> str:
    """The traceparent of an event published now: the handled event's trace continued,
    or a new trace outside any handler (what TraceContextMiddleware puts on a publish)."""
    return child_traceparent(_incoming.get())


class TraceContextMiddleware(BaseMiddleware):
    """Carries W3C trace context from each consumed event to what its handler
    publishes, without creating spans."""

    async def consume_scope(
        self, call_next: Callable[[StreamMessage[Any]], Awaitable[Any]], msg: StreamMessage[Any]
    ) -> Any:
        token = _incoming.set(parse_traceparent(msg.headers.get(TRACEPARENT)))
        try:
            return await call_next(msg)
        finally:
            _incoming.reset(token)

    async def publish_scope(self, call_next: Callable[[Any], Awaitable[Any]], cmd: Any) -> Any:
        if TRACEPARENT not in cmd.headers:
            cmd.headers[TRACEPARENT] = outgoing_traceparent()
        return await call_next(cmd)


def tracing_middleware(service: str) -> Any:
    """The middleware that puts trace context on this service's events."""
    if not tracing_configured():
        return TraceContextMiddleware
    provider = TracerProvider(resource=Resource.create({"service.name": f"moe-{service}"}))
    return KafkaTelemetryMiddleware(tracer_provider=provider)

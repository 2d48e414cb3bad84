"""The message a handler is processing, read from a context variable.

`message: KafkaMessage = Context()` in a handler's signature makes FastDepends resolve
the field with a synchronous call in a worker thread: a thread round trip per message.
On the planner, which reads every streamed token of moe.replies, that was ~13 % of its
CPU under load. A middleware on every service's broker (`contracts.wire.make_broker`)
sets this variable around each handler call instead."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, cast

from faststream import BaseMiddleware
from faststream.kafka.message import KafkaMessage
from faststream.message import StreamMessage

_current: ContextVar[StreamMessage[Any] | None] = ContextVar("moe_current_message", default=None)


class CurrentMessageMiddleware(BaseMiddleware):
    """Makes the consumed message available to its handler via `current_message()`."""

    async def consume_scope(
        self, call_next: Callable[[StreamMessage[Any]], Awaitable[Any]], msg: StreamMessage[Any]
    ) -> Any:
        token = _current.set(msg)
        try:
            return await call_next(msg)
        finally:
            _current.reset(token)


def current_message() -> KafkaMessage:
    """The Kafka message whose handler is running in this task."""
    message = _current.get()
    if message is None:
        raise RuntimeError("current_message() called outside a message handler")
    return cast(KafkaMessage, message)

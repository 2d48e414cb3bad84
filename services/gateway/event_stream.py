"""The response that streams a request's SSE events to its client."""

from __future__ import annotations

import asyncio

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send


class EventStreamResponse(StreamingResponse):
    """Starlette's StreamingResponse, with the body sent from the request's own task.

    Under uvicorn (ASGI spec 2.3) Starlette sends the body from a new task of an anyio
    task group while the request's task listens for the client's disconnect: 34 µs of
    CPU for the task group, and the new task first runs on a later turn of the event
    loop, after whatever else is ready. Here a plain task listens instead, and a
    disconnect cancels the sending, as Starlette's does. In alternating bench stacks the
    first token of a streamed answer reached the client about 0.1 ms sooner."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sending = asyncio.current_task()
        assert sending is not None
        gone = asyncio.Event()

        async def cancel_on_disconnect() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()
            sending.cancel()

        listening = asyncio.create_task(cancel_on_disconnect())
        try:
            await self.stream_response(send)
        except asyncio.CancelledError:
            if not gone.is_set():
                raise
            sending.uncancel()  # the cancel was ours: the client left, nothing failed
        finally:
            listening.cancel()

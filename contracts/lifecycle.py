"""Running a service process: Ctrl-C or SIGTERM stops it within a few seconds, whatever
state its broker is in.

FastStream's `app.run()` waits for its broker to stop however long that takes, and an
aiokafka producer that stops while the broker is unreachable waits out its request
timeout (40 s) trying to flush. So the services run the same start and stop steps here,
with the stop bounded and a start that is still connecting abandoned."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any, Final

import structlog
from faststream import FastStream

log = structlog.get_logger()

STOP_GRACE_S: Final = 2.0
"""How long a stop may take: in-flight work finishing, offsets committed, the producer
flushed. Past it the process exits anyway; what was not flushed is redelivered or lost
as the service's acknowledgement policy says. A stop with the broker up takes well under
a second; with the broker gone the whole grace is waited out, and an HTTP service still
has steps after it (the tools kill their worker pool): at 3 s the tools were once still
running 5 s after SIGTERM on a loaded machine."""

SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)

READY_MESSAGE: Final = "FastStream app started successfully"
"""Logged once the app's subscribers have started: the local stack waits for this line
(deploy.local.services.FASTSTREAM_READY), as it did when `app.run()` logged it."""


async def bounded(
    step: Callable[[], Awaitable[None]], what: str, grace_s: float = STOP_GRACE_S
) -> bool:
    """Run a stop step for at most `grace_s`; True if it finished, else log and give up."""
    try:
        async with asyncio.timeout(grace_s):
            await step()
    except TimeoutError:
        log.warning("stop_stalled", step=what, waited_s=grace_s)
        return False
    return True


def freeze_startup_heap() -> None:
    """Put what start-up allocated (modules, the app, its clients: ~100k objects) out of
    the garbage collector's reach. Each full collection walked all of it, about 45 ms on
    this 2-core machine: a pause in every stream the process was relaying, and the tail
    of the per-token relay delay. Frozen, a full collection walks what requests made."""
    gc.collect()
    gc.freeze()


def serve_http(app: Any, host: str, port: int, log_level: str = "info") -> None:
    """Serve an HTTP service (gateway, tools, ingest) until Ctrl-C or SIGTERM. Open
    connections get STOP_GRACE_S to finish; the broker's stop in the app's lifespan is
    bounded by the same grace (`bounded`). uvicorn is imported here, not at the top: the
    tools' worker processes import their main module and need no web stack."""
    import uvicorn

    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        loop="uvloop",
        timeout_graceful_shutdown=int(STOP_GRACE_S),
    )


EXIT_STALLED: Final = 3
"""The exit code of a process whose stop was given up."""


async def run_until_signalled(
    app: FastStream, service: str, grace_s: float = STOP_GRACE_S, exit_if_stalled: bool = False
) -> None:
    """Start `app`, serve until SIGINT or SIGTERM, then stop it within `grace_s`.

    A start that fails raises (the process exits with the error; a supervisor restarts
    it). A signal that arrives while the broker is still being reached abandons the start.
    With `exit_if_stalled` (a service's main), a stop given up ends the process at once:
    the broker client's own tasks are still retrying a broker that is gone, and the event
    loop's teardown would wait for them too (seconds, measured)."""
    loop = asyncio.get_running_loop()
    signalled = asyncio.Event()
    for sig in SIGNALS:
        loop.add_signal_handler(sig, signalled.set)
    try:
        clean = await _serve(app, service, signalled, grace_s)
    finally:
        for sig in SIGNALS:
            loop.remove_signal_handler(sig)
    if not clean and exit_if_stalled:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_STALLED)


async def _serve(app: FastStream, service: str, signalled: asyncio.Event, grace_s: float) -> bool:
    """True if the app stopped within the grace period."""
    starting = asyncio.create_task(app.start(), name=f"{service}-start")
    waiting = asyncio.create_task(signalled.wait(), name=f"{service}-signal")
    await asyncio.wait({starting, waiting}, return_when=asyncio.FIRST_COMPLETED)
    if starting.done():
        waiting.cancel()
        starting.result()  # a failed start raises here
        freeze_startup_heap()
        _log(app, READY_MESSAGE)
        await signalled.wait()
    else:
        starting.cancel()
        await asyncio.wait({starting}, timeout=grace_s)
    _log(app, "FastStream app shutting down...")
    if not await bounded(app.stop, f"{service} stop", grace_s):
        return False
    _log(app, "FastStream app shut down gracefully.")
    return True


def _log(app: FastStream, message: str) -> None:
    if app.logger is not None:
        app.logger.log(logging.INFO, message)

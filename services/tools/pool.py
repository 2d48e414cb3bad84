"""Tool calls run in worker processes that can be killed.

A computation stuck inside C code (a backtracking regex, a SymPy bignum) cannot be
interrupted from Python, and a `ProcessPoolExecutor` cannot cancel a running call: killing
one of its workers breaks the whole pool. So each worker here is a plain process with its
own pipe; a call that overruns its time limit gets its worker SIGKILLed and a fresh one
forked in its place, and the other workers carry on. Workers come from a forkserver that
has imported the tools once, so a replacement starts in milliseconds, without inheriting
the event loop's threads. Each worker caps its address space, so a memory bomb ends in
MemoryError or a dead worker, never in the host swapping."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import resource
import signal
from dataclasses import dataclass
from multiprocessing import forkserver
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

import structlog

from services.tools.catalog import execute
from services.tools.registry import Result, ToolError

log = structlog.get_logger()
Job = tuple[str, dict[str, Any] | None]
Reply = tuple[str, Any]


def _run_job(job: Job) -> Reply:
    name, args = job
    try:
        return ("ok", execute(name, args))
    except ToolError as exc:
        return ("error", exc.to_wire())
    except MemoryError:
        return ("error", ("ran out of memory", None, "resource_limit"))
    except RecursionError:
        return ("error", ("input is nested too deeply", None, "invalid_argument"))
    except Exception as exc:  # a tool bug: reported to the caller and logged, never swallowed
        log.exception("tool_failed", tool=name)
        return ("error", (f"internal error: {type(exc).__name__}: {exc}", None, "internal"))


def _serve(conn: Connection, memory_bytes: int) -> None:
    """Worker main loop: one job at a time until the parent closes the pipe."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when workers stop
    if memory_bytes > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        conn.send(_run_job(job))


@dataclass(eq=False)  # identity hashing: workers live in a set
class _Worker:
    process: BaseProcess
    conn: Connection

    def call(self, job: Job, timeout: float) -> Reply:
        """Blocking; runs in a thread so the event loop stays free."""
        self.conn.send(job)
        if not self.conn.poll(timeout):
            raise TimeoutError
        reply: Reply = self.conn.recv()
        return reply

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


class WorkerPool:
    """At most `size` concurrent calls, each in its own killable worker process."""

    def __init__(self, size: int = 2, memory_mb: int = 1024) -> None:
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(["services.tools.catalog"])
        self._memory_bytes = memory_mb * 1024 * 1024
        self._size = size
        self._slots = asyncio.Semaphore(size)
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()

    def _spawn(self) -> _Worker:
        _open_pools.add(self)
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=_serve, args=(child, self._memory_bytes), daemon=True, name="tool-worker"
        )
        process.start()
        child.close()
        worker = _Worker(process, parent)
        self._all.add(worker)
        return worker

    def _discard(self, worker: _Worker) -> None:
        self._all.discard(worker)
        worker.kill()

    async def start(self) -> None:
        """Start the forkserver and the workers now, so the first call pays no import cost."""
        while len(self._idle) < self._size:
            self._idle.append(await asyncio.to_thread(self._spawn))

    async def run(
        self, name: str, args: dict[str, Any] | None, limit: float, blame: str | None = None
    ) -> Result:
        async with self._slots:
            worker = self._idle.pop() if self._idle else await asyncio.to_thread(self._spawn)
            try:
                reply = await asyncio.to_thread(worker.call, (name, args), limit)
            except TimeoutError:
                await asyncio.to_thread(self._discard, worker)
                log.warning("tool_timeout", tool=name, seconds=limit)
                raise ToolError(
                    f"{name} took longer than {limit:g} s and was stopped", blame, "timeout"
                ) from None
            except (EOFError, OSError):
                await asyncio.to_thread(self._discard, worker)
                raise ToolError(
                    f"{name} crashed its worker (out of memory?)", blame, "resource_limit"
                ) from None
            except BaseException:
                # Cancelled mid-call: the worker's state is unknown, so it does not come back.
                self._discard(worker)
                raise
            self._idle.append(worker)
        status, payload = reply
        if status == "ok":
            return payload  # type: ignore[no-any-return]
        raise ToolError.from_wire(payload)

    async def close(self) -> None:
        workers, self._idle = list(self._all), []
        self._all.clear()
        _open_pools.discard(self)
        last = not _open_pools

        def kill_all() -> None:
            for worker in workers:
                worker.kill()
            if last:  # other pools' workers report their exit through the forkserver
                _stop_forkserver()

        await asyncio.to_thread(kill_all)


_open_pools: set[WorkerPool] = set()
"""Pools of this process that are started and not closed: they share one forkserver."""


def _stop_forkserver() -> None:
    """Kill the forkserver rather than let it exit with this process: it would tear its
    interpreter down first, and with the tools' modules (sympy, pint) loaded that took
    about 2 s on a loaded 2-core machine, past a SIGTERM's few seconds. It holds nothing
    that needs a clean exit. Only once no pool is open: a worker's exit status comes
    through the forkserver, and without it a running worker reads as exited (and would
    never be killed). multiprocessing has no public way to reach it, hence the private
    names; a later pool starts a new one (ensure_running)."""
    server = getattr(forkserver, "_forkserver", None)
    pid = getattr(server, "_forkserver_pid", None)
    if server is None or pid is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    server._stop()  # closes its pipe, reaps it, removes its socket

"""One process of the local stack: spawned in its own process group with its output in a
log file, waited on until healthy, and stopped with SIGTERM, then SIGKILL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
import subprocess
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from deploy.local.errors import ComponentError
from deploy.local.ports import ensure_ports_free

log = structlog.get_logger("deploy.local")

HealthCheck = Callable[[], Awaitable[bool]]
"""Returns True once the component serves; raising counts as "not yet"."""

PROBE_INTERVAL_S = 0.25
PROBE_TIMEOUT_S = 3.0
LOG_TAIL_LINES = 25


@dataclass
class Component:
    """A long-running process of the stack and how to tell that it is up.

    `settle_s` is how long the process must stay alive after its health check passes,
    which catches a crash right after start-up. `ready_text`, for a process with nothing
    to probe (a pure Kafka consumer): healthy once it has logged this line since it was
    last spawned.
    """

    name: str
    command: Sequence[str]
    log_path: Path
    env: Mapping[str, str] = field(default_factory=dict)
    health: HealthCheck | None = None
    ready_text: str | None = None
    liveness: HealthCheck | None = None
    """While running, is it alive and serving? None: its `health` check (if any)."""
    ports: Mapping[str, int] = field(default_factory=dict)
    url: str | None = None
    startup_timeout_s: float = 60.0
    settle_s: float = 0.0
    grace_s: float = 10.0
    cwd: Path | None = None
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _log_start: int = field(default=0, init=False, repr=False)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def returncode(self) -> int | None:
        """None while running (or never started); the exit code once it has exited."""
        return self._process.poll() if self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def spawn(self, restart_reason: str | None = None) -> None:
        """Start the process (after checking its ports); does not wait for health. A
        restart appends to the log, so the reason the last run ended stays readable."""
        if self.running:
            raise RuntimeError(f"{self.name} is already running (pid {self.pid})")
        ensure_ports_free(self.name, self.ports)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab" if restart_reason else "wb") as log_file:
            if restart_reason:
                log_file.write(f"\n=== restarted by the launcher: {restart_reason}\n".encode())
            self._log_start = log_file.tell()
            log_file.write(f"$ {shlex.join(self.command)}\n".encode())
            log_file.flush()
            self._process = subprocess.Popen(
                list(self.command),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self.env},
                cwd=self.cwd,
                # Own process group: Ctrl-C in the terminal reaches only the launcher,
                # which stops components in order; stop() signals the whole group.
                start_new_session=True,
            )
        log.debug("spawned", component=self.name, pid=self._process.pid, log=str(self.log_path))

    async def wait_healthy(self) -> float:
        """Wait until the health check passes; return the seconds it took since now."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + self.startup_timeout_s
        last_error = ""
        while True:
            self.raise_if_exited("exited while starting")
            healthy, last_error = await self.probe()
            if healthy:
                break
            if loop.time() > deadline:
                detail = f" (last check: {last_error})" if last_error else ""
                raise self.error(
                    f"did not become healthy within {self.startup_timeout_s:.0f}s{detail}"
                )
            await asyncio.sleep(PROBE_INTERVAL_S)
        settle_until = loop.time() + self.settle_s
        while loop.time() < settle_until:
            self.raise_if_exited("exited right after starting")
            await asyncio.sleep(PROBE_INTERVAL_S)
        self.raise_if_exited("exited right after starting")
        return loop.time() - started

    async def start(self) -> float:
        """Spawn and wait until healthy; on failure the process is stopped again."""
        self.spawn()
        try:
            return await self.wait_healthy()
        except BaseException:
            self.stop()
            raise

    async def probe(self, liveness: bool = False) -> tuple[bool, str]:
        """(healthy, why not) by the health check, else by `ready_text`, else True;
        with `liveness`, by the liveness check first (a running process has started)."""
        check = (self.liveness or self.health) if liveness else self.health
        if check is None and (liveness or self.ready_text is None):
            return True, ""
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S):
                if check is not None:
                    return await check(), ""
                return await asyncio.to_thread(self._logged_since_spawn, self.ready_text or ""), ""
        except Exception as exc:  # a failed probe only means "not healthy yet"
            return False, f"{type(exc).__name__}: {exc}".strip().rstrip(":")

    def _logged_since_spawn(self, text: str) -> bool:
        with self.log_path.open("rb") as file:
            file.seek(self._log_start)
            return text.encode() in file.read()

    def raise_if_exited(self, reason: str) -> None:
        code = self.returncode
        if code is not None:
            raise self.error(f"{reason} (exit code {code})")

    def error(self, reason: str) -> ComponentError:
        return ComponentError(self.name, reason, self.log_path, self.log_tail())

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            with self.log_path.open(encoding="utf-8", errors="replace") as file:
                return "".join(deque(file, maxlen=lines))
        except FileNotFoundError:
            return ""

    def terminate(self) -> None:
        """Ask the whole process group to stop (SIGTERM) without waiting."""
        if self.running:
            self._signal_group(signal.SIGTERM)

    def stop(self, grace_s: float | None = None) -> None:
        """SIGTERM the process group, SIGKILL it after the grace period; idempotent."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                process.wait(timeout=self.grace_s if grace_s is None else grace_s)
            except subprocess.TimeoutExpired:
                log.warning("did not stop in time, killing", component=self.name, pid=process.pid)
                self._signal_group(signal.SIGKILL)
                process.wait()
        # Children the leader left behind (same group) go too.
        self._signal_group(signal.SIGKILL)
        log.debug("stopped", component=self.name, code=process.returncode)

    def _signal_group(self, sig: signal.Signals) -> None:
        if self._process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):  # group already gone
            os.killpg(self._process.pid, sig)


def stop_all(components: Sequence[Component], grace_s: float = 10.0) -> None:
    """Stop several components at once: SIGTERM them all, then wait for each in turn."""
    for component in components:
        component.terminate()
    deadline = time.monotonic() + grace_s
    for component in components:
        component.stop(max(0.0, deadline - time.monotonic()))

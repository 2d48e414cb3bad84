"""Services as real processes (`python -m services.<name>`), as the local stack and
production run them: for tests of what only a process shows (signals, exit times)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from contracts.lifecycle import READY_MESSAGE


@dataclass
class ServiceProcess:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def group_alive(self) -> bool:
        """Anything left of the process group (the service and any children it spawned)."""
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        return True

    async def exit_after(self, sig: signal.Signals, timeout_s: float) -> float:
        """Send `sig` and return the seconds until the process (and its children) exited;
        fail if that took longer than `timeout_s` (the group is then killed)."""
        started = time.monotonic()
        self.process.send_signal(sig)
        try:
            async with asyncio.timeout(timeout_s):
                while self.process.poll() is None or self.group_alive():  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
        except TimeoutError:
            self.kill()
            raise AssertionError(
                f"{self.name} still running {timeout_s:g} s after {sig.name}:\n{self.log[-3000:]}"
            ) from None
        return time.monotonic() - started

    def kill(self) -> None:
        if self.group_alive():
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def spawn_service(name: str, env: Mapping[str, str], log_dir: Path) -> ServiceProcess:
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", f"services.{name}"],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
            start_new_session=True,  # its own group: its children can be found and killed
        )
    return ServiceProcess(name, process, log_path)


async def wait_ready(service: ServiceProcess, http_url: str | None, timeout_s: float) -> None:
    """Until the service answers HTTP at `http_url`, or else logs that it started."""
    async with asyncio.timeout(timeout_s), httpx.AsyncClient(timeout=1.0) as client:
        while True:
            if service.process.poll() is not None:
                raise AssertionError(f"{service.name} exited while starting:\n{service.log}")
            if http_url is None and READY_MESSAGE in service.log:
                return
            if http_url is not None:
                try:
                    if (await client.get(http_url)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
            await asyncio.sleep(0.2)

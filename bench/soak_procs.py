"""The running stack's processes, found from outside with psutil, and their memory and
CPU per minute. The gateway is the process listening on the soak's port; the process
that spawned it (`moe run`, or a test harness) spawned the other components too, so its
children are the stack. Each component counts its own children (the tools service's
worker pool)."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import psutil

MIB = 1024 * 1024

_MODULES = {"llama_cpp.server": "llm", "deploy.cli": "moe-run"}
_PROGRAMS = {"redis-server": "graphdb", "llama-server": "llm", "moe": "moe-run"}


def component_name(cmdline: list[str]) -> str:
    """What a stack process is, from its command line (program, `-m` module, or the
    Kafka main class)."""
    if not cmdline:
        return "?"
    if "kafka.Kafka" in cmdline:
        return "broker"
    # A process may rewrite its title into argv[0] ("redis-server 127.0.0.1:6379").
    program = os.path.basename(cmdline[0].split(" ")[0])
    if program.startswith("tansu"):
        return "broker"
    if "-m" in cmdline[:-1]:
        module = cmdline[cmdline.index("-m") + 1]
        if module.startswith("services."):
            return module.removeprefix("services.")
        if module in _MODULES:
            return _MODULES[module]
    scripts = [program, *(os.path.basename(arg) for arg in cmdline[1:2])]
    return next((_PROGRAMS[s] for s in scripts if s in _PROGRAMS), program)


def _listens_on(process: psutil.Process, port: int) -> bool:
    with contextlib.suppress(psutil.Error):
        for conn in process.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
                return True
    return False


def find_gateway(port: int) -> psutil.Process | None:
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if "services.gateway" in cmdline and _listens_on(process, port):
            return process
    return None


@dataclass(frozen=True)
class Usage:
    rss_mb: float
    cpu_pct: float
    """Share of one core over the last interval (100 = one core busy)."""


class StackProcesses:
    """The stack's components by name; `sample()` gives each one's RSS and CPU share
    since the previous sample."""

    def __init__(self, components: dict[str, psutil.Process]) -> None:
        self.components = components
        self._cpu: dict[str, float] = {}
        self._at = 0.0

    @classmethod
    def find(cls, gateway_port: int) -> StackProcesses:
        gateway = find_gateway(gateway_port)
        if gateway is None:
            return cls({})
        launcher = gateway.parent()
        found: dict[str, psutil.Process] = {}
        if launcher is not None and launcher.pid != 1:
            if _safe_name(launcher) == "moe-run":
                found["moe-run"] = launcher
            for child in launcher.children():
                if child.pid != os.getpid():
                    found.setdefault(_safe_name(child), child)
        found.setdefault("gateway", gateway)
        return cls(found)

    def kafka_url(self) -> str | None:
        """The broker address the stack's services were given (KAFKA_URL)."""
        gateway = self.components.get("gateway")
        with contextlib.suppress(psutil.Error):
            return gateway.environ().get("KAFKA_URL") if gateway else None
        return None

    def _totals(self, name: str) -> tuple[int, float]:
        root = self.components[name]
        rss, cpu = 0, 0.0
        with contextlib.suppress(psutil.Error):
            # The launcher's children are the other components: count only itself.
            tree = [root] if name == "moe-run" else [root, *root.children(recursive=True)]
            for process in tree:
                with contextlib.suppress(psutil.Error):  # a child may have exited
                    rss += process.memory_info().rss
                    times = process.cpu_times()
                    cpu += times.user + times.system
        return rss, cpu

    def sample(self, now: float) -> dict[str, Usage]:
        elapsed = now - self._at if self._at else 0.0
        usage: dict[str, Usage] = {}
        for name in self.components:
            rss, cpu = self._totals(name)
            before = self._cpu.get(name)
            share = 100 * (cpu - before) / elapsed if before is not None and elapsed else 0.0
            self._cpu[name] = cpu
            usage[name] = Usage(round(rss / MIB, 1), round(share, 1))
        self._at = now
        return usage


def _safe_name(process: psutil.Process) -> str:
    try:
        return component_name(process.cmdline())
    except psutil.Error:
        return "?"

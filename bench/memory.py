"""Peak resident memory and CPU time of each process under test, sampled from outside
with psutil (each service is its own process; child processes, such as the tools
service's worker pool, count towards their parent)."""

from __future__ import annotations

import asyncio
import contextlib
import time

import psutil
from pydantic import BaseModel, ConfigDict

SAMPLE_INTERVAL_S = 0.25
TREE_REFRESH_S = 5.0
MIB = 1024 * 1024


class ProcessUsage(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    pid: int
    peak_rss_mb: float
    cpu_seconds: float
    idle_cpu_pct: float | None = None
    """Share of one core used while no request was in flight (polling, heartbeats)."""


def _tree(pid: int, children: bool = True) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)] if children else [root]
    except psutil.Error:
        return []


class UsageSampler:
    """Samples every SAMPLE_INTERVAL_S in a worker thread while the benchmark runs.

    Not on the event loop: finding child processes scans all of /proc (milliseconds),
    which would show up as relay delay in the client's own measurements. The trees are
    therefore found once every TREE_REFRESH_S, and each sample only reads their RSS."""

    def __init__(
        self, pids: dict[str, int], without_children: frozenset[str] = frozenset()
    ) -> None:
        self.pids = pids
        self.without_children = without_children
        self.peaks = dict.fromkeys(pids, 0)
        self._trees: dict[str, list[psutil.Process]] = {}
        self._refreshed = 0.0
        self._task: asyncio.Task[None] | None = None

    def _processes(self, name: str) -> list[psutil.Process]:
        if time.monotonic() - self._refreshed > TREE_REFRESH_S:
            self._trees = {
                name: _tree(pid, children=name not in self.without_children)
                for name, pid in self.pids.items()
            }
            self._refreshed = time.monotonic()
        return self._trees.get(name, [])

    def sample(self) -> None:
        for name in self.pids:
            rss = 0
            for process in self._processes(name):
                with contextlib.suppress(psutil.Error):  # a child may have exited
                    rss += process.memory_info().rss
            self.peaks[name] = max(self.peaks[name], rss)

    def cpu_snapshot(self) -> dict[str, float]:
        """CPU seconds used so far by each process; differences give a phase's share."""
        totals: dict[str, float] = {}
        for name in self.pids:
            totals[name] = 0.0
            for process in self._processes(name):
                with contextlib.suppress(psutil.Error):
                    times = process.cpu_times()
                    totals[name] += times.user + times.system
        return totals

    async def _run(self) -> None:
        while True:
            await asyncio.to_thread(self.sample)
            await asyncio.sleep(SAMPLE_INTERVAL_S)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self, idle_cpu_pct: dict[str, float] | None = None) -> list[ProcessUsage]:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self.sample()
        cpu = self.cpu_snapshot()
        idle = idle_cpu_pct or {}
        return [
            ProcessUsage(
                name=name,
                pid=pid,
                peak_rss_mb=round(self.peaks[name] / MIB, 1),
                cpu_seconds=round(cpu[name], 2),
                idle_cpu_pct=idle.get(name),
            )
            for name, pid in self.pids.items()
        ]


async def idle_cpu(sampler: UsageSampler, seconds: float) -> dict[str, float]:
    """Percent of one core each process uses over `seconds` with no request in flight."""
    before = await asyncio.to_thread(sampler.cpu_snapshot)
    await asyncio.sleep(seconds)
    after = await asyncio.to_thread(sampler.cpu_snapshot)
    return {name: round(100 * (after[name] - before[name]) / seconds, 1) for name in after}

"""Sampling profiles of the services while they are under load: py-spy attaches to the
running processes from outside (no code change; --nonblocking does not pause them) and
writes each one's folded stacks (open them in speedscope or flamegraph.pl), from which
the report lists where each service spends its CPU."""

from __future__ import annotations

import asyncio
import re
import sys
from collections import Counter
from pathlib import Path

import structlog
from pydantic import BaseModel, ConfigDict

log = structlog.get_logger("bench")

PROFILED = ("gateway", "planner", "experts", "merger", "tools")
TOP_FRAMES = 12
_LINE = re.compile(r"^(.*) (\d+)$")
_FILE = re.compile(r"\((.*?):\d+\)")
# Innermost frames that mean "waiting", not "working".
_IDLE = re.compile(r"\b(select|poll|epoll|Condition\.wait|Event\.wait|sleep)\b")


class HotFrame(BaseModel):
    model_config = ConfigDict(frozen=True)

    frame: str
    self_pct: float


class ServiceProfile(BaseModel):
    model_config = ConfigDict(frozen=True)

    service: str
    folded_stacks: str
    samples: int
    idle_pct: float
    """Samples waiting in select/epoll or on a lock: not CPU."""
    by_package: dict[str, float]
    """Percent of busy samples whose innermost frame is in each package or module."""
    hottest: list[HotFrame]


def py_spy() -> Path | None:
    candidate = Path(sys.executable).parent / "py-spy"
    return candidate if candidate.is_file() else None


def _package(frame: str) -> str:
    """`f (site-packages/aiokafka/conn.py:12)` -> aiokafka; stdlib -> its module."""
    match = _FILE.search(frame)
    path = (match.group(1) if match else frame).split("site-packages/")[-1]
    return path.split("/")[0].removesuffix(".py")


def summarise(service: str, folded: Path, top: int = TOP_FRAMES) -> ServiceProfile:
    """Where a service's busy samples are, by innermost frame and by package."""
    own: Counter[str] = Counter()
    total = idle = 0
    for line in folded.read_text().splitlines():
        match = _LINE.match(line)
        if not match:
            continue
        leaf, count = match.group(1).split(";")[-1], int(match.group(2))
        total += count
        if _IDLE.search(leaf):
            idle += count
        else:
            own[leaf] += count
    busy = max(1, total - idle)
    packages: Counter[str] = Counter()
    for frame, count in own.items():
        packages[_package(frame)] += count
    return ServiceProfile(
        service=service,
        folded_stacks=str(folded),
        samples=total,
        idle_pct=round(100 * idle / max(1, total), 1),
        by_package={name: round(100 * n / busy, 1) for name, n in packages.most_common(top)},
        hottest=[
            HotFrame(frame=frame, self_pct=round(100 * n / busy, 1))
            for frame, n in own.most_common(top)
        ],
    )


class Profiler:
    """`start()` just before the load, `finish()` after; outputs land in `out_dir`."""

    def __init__(self, pids: dict[str, int], seconds: float, out_dir: Path) -> None:
        self.targets = {name: pid for name, pid in pids.items() if name in PROFILED}
        self.seconds = seconds
        self.out_dir = out_dir
        self._running: dict[str, asyncio.subprocess.Process] = {}

    async def start(self) -> None:
        binary = py_spy()
        if binary is None:
            log.warning("py-spy not installed: no profiles")
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for name, pid in self.targets.items():
            self._running[name] = await asyncio.create_subprocess_exec(
                str(binary), "record",
                "--pid", str(pid),
                "--duration", str(max(1, round(self.seconds))),
                "--rate", "250",
                "--nonblocking",
                "--format", "raw",
                "--output", str(self.out_dir / f"{name}.folded"),
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip

    async def finish(self) -> list[ServiceProfile]:
        profiles: list[ServiceProfile] = []
        for name, process in self._running.items():
            _, stderr = await process.communicate()
            path = self.out_dir / f"{name}.folded"
            if process.returncode == 0 and path.is_file():
                profiles.append(await asyncio.to_thread(summarise, name, path))
            else:
                log.warning("py-spy failed", service=name, error=stderr.decode()[-300:])
        return profiles

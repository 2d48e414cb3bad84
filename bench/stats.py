"""Summaries of latency samples: median, p95 and p99, and comparisons with a baseline."""

from __future__ import annotations

import math
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

PERCENTILES = ("p50", "p95", "p99")


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linear between the closest ranks."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class Distribution(BaseModel):
    """Milliseconds; every figure is None when there were no samples."""

    model_config = ConfigDict(frozen=True)

    n: int = 0
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    mean: float | None = None
    min: float | None = None
    max: float | None = None

    @classmethod
    def of_seconds(cls, samples: Sequence[float]) -> Distribution:
        if not samples:
            return cls()
        ms = [s * 1000 for s in samples]
        return cls(
            n=len(ms),
            p50=round(percentile(ms, 50), 3),
            p95=round(percentile(ms, 95), 3),
            p99=round(percentile(ms, 99), 3),
            mean=round(sum(ms) / len(ms), 3),
            min=round(min(ms), 3),
            max=round(max(ms), 3),
        )

    def at(self, name: str) -> float | None:
        value = getattr(self, name)
        return None if value is None else float(value)


class Percentiles(BaseModel):
    model_config = ConfigDict(frozen=True)

    p50: float | None = None
    p95: float | None = None
    p99: float | None = None


class Compared(BaseModel):
    """A figure, its baseline measured in the same run, and what the path adds."""

    model_config = ConfigDict(frozen=True)

    measured: Distribution
    baseline: Distribution
    added_ms: Percentiles
    ratio: Percentiles

    @classmethod
    def of(cls, measured: Distribution, baseline: Distribution) -> Compared:
        added: dict[str, float | None] = {}
        ratio: dict[str, float | None] = {}
        for name in PERCENTILES:
            ours, base = measured.at(name), baseline.at(name)
            if ours is None or base is None:
                added[name] = ratio[name] = None
                continue
            added[name] = round(ours - base, 3)
            ratio[name] = round(ours / base, 3) if base > 0 else None
        return cls(
            measured=measured,
            baseline=baseline,
            added_ms=Percentiles(**added),
            ratio=Percentiles(**ratio),
        )

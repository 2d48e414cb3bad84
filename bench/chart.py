"""A PNG of the run's latency distributions (empirical CDFs) and throughput bars."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on a server or in CI

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from bench.throughput import ThroughputRun

Samples = Mapping[str, Sequence[float]]
"""Series name -> samples in seconds."""


def _ecdf(axes: Axes, title: str, series: Samples) -> None:
    for name, samples in series.items():
        if not samples:
            continue
        ms = sorted(s * 1000 for s in samples)
        fractions = [(index + 1) / len(ms) for index in range(len(ms))]
        axes.step(ms, fractions, where="post", label=f"{name} (n={len(ms)})")
    axes.set_title(title, fontsize=10)
    axes.set_xlabel("ms")
    axes.set_ylabel("fraction ≤ x")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7)


def _throughput(axes: Axes, runs: Sequence[ThroughputRun]) -> None:
    paths = sorted({run.path for run in runs})
    levels = sorted({run.concurrency for run in runs})
    width = 0.8 / max(1, len(paths))
    for offset, path in enumerate(paths):
        rates = {run.concurrency: run.requests_per_s for run in runs if run.path == path}
        xs = [index + offset * width for index in range(len(levels))]
        axes.bar(xs, [rates.get(level, 0.0) for level in levels], width, label=path)
    axes.set_xticks([index + width * (len(paths) - 1) / 2 for index in range(len(levels))])
    axes.set_xticklabels([f"c={level}" for level in levels])
    axes.set_title("throughput (req/s)", fontsize=10)
    axes.grid(alpha=0.3, axis="y")
    axes.legend(fontsize=7)


def write_chart(path: Path, panels: Mapping[str, Samples], runs: Sequence[ThroughputRun]) -> Path:
    """One ECDF panel per entry of `panels`, then the throughput bars."""
    count = len(panels) + 1
    columns = 3
    rows = (count + columns - 1) // columns
    figure, grid = plt.subplots(rows, columns, figsize=(5 * columns, 3.8 * rows), squeeze=False)
    cells = [axes for row in grid for axes in row]
    for axes, (title, series) in zip(cells, panels.items(), strict=False):
        _ecdf(axes, title, series)
    _throughput(cells[len(panels)], runs)
    for axes in cells[count:]:
        axes.set_visible(False)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path

"""Where a run's results go: bench/results/latest.json (every figure) and
bench/results/latency.png (the distributions)."""

from __future__ import annotations

from pathlib import Path

from bench.chart import Samples, write_chart
from bench.report import BenchReport
from bench.runner import Measured

JSON_NAME = "latest.json"
CHART_NAME = "latency.png"


def panels(out: Measured) -> dict[str, Samples]:
    paths = out.paths
    return {
        "time to first token": {name: p.ttft for name, p in paths.items()},
        "total time (streamed)": {name: p.total for name, p in paths.items()},
        "per-token relay delay": {name: p.relay for name, p in paths.items() if p.relay},
        "cache hit (repeated question)": {
            "through the pipeline": out.cache.total,
            "model direct": paths["direct"].total if "direct" in paths else [],
        },
        "no-model path (calculate tool)": {
            "through the pipeline": out.tool.total,
            "tool REST direct": out.tool_direct.total,
        },
        "full pipeline, 3 parallel tasks + thinking + synthesis": {
            "pipeline": out.pipeline,
            "critical path direct (tasks, thinking, judge)": out.critical,
        },
        "tier escalation (tier 1 unsure, then tier 2)": {
            "pipeline": out.escalation,
            "critical path direct (tier 1, then tier 2)": out.escalation_critical,
        },
        "broker floor and one echo (2 hops)": {"floor, 1 hop": out.floor, **out.hops},
        **out.planner_paths,
    }


def save(report: BenchReport, out: Measured, directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / JSON_NAME
    json_path.write_text(report.model_dump_json(indent=2) + "\n")
    chart = write_chart(directory / CHART_NAME, panels(out), report.throughput.runs)
    return json_path, chart

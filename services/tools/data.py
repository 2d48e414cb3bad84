"""Data tools: statistics_calc over a list of numbers, json_query over a JSON document.

json_query path syntax: keys separated by dots and list indexes in brackets, e.g.
`users[0].address.city` or `items[-1]`; `$` or an empty path is the whole document; a key
that contains dots or brackets is written quoted in brackets: `["a.b"]`."""

from __future__ import annotations

import json
import math
import re
import statistics
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from services.tools.registry import Result, Tool, ToolArgs, ToolError

MAX_JSON_CHARS = 1_000_000
MAX_JSON_DEPTH = 100  # deeper documents break serializers downstream (HTTP, MCP, Kafka)
Operation = Literal["mean", "median", "stdev", "variance", "min", "max", "sum", "count", "mode"]
ALL_OPERATIONS: tuple[Operation, ...] = Operation.__args__  # type: ignore[attr-defined]


class StatisticsArgs(ToolArgs):
    numbers: list[Annotated[float, Field(allow_inf_nan=False)]] = Field(
        min_length=1, max_length=100_000, description="The data, finite numbers."
    )
    operations: list[Operation] = Field(
        default_factory=lambda: list(ALL_OPERATIONS),
        description="Which statistics to return; default all. stdev/variance are sample "
        "statistics (n-1) and need two numbers.",
    )


def _tidy(value: float) -> float | int:
    if value.is_integer() and abs(value) < 2**53:
        return int(value)
    return float(f"{value:.15g}")


def _statistic(name: Operation, data: list[float]) -> Any:
    if name in ("stdev", "variance") and len(data) < 2:
        raise ToolError(f"{name} needs at least two numbers", "numbers")
    if name == "mode":
        return [_tidy(m) for m in statistics.multimode(data)]
    if name == "count":
        return len(data)
    funcs: dict[str, Callable[[list[float]], float]] = {
        "mean": statistics.fmean,
        "median": statistics.median,
        "stdev": statistics.stdev,
        "variance": statistics.variance,
        "min": min,
        "max": max,
        "sum": math.fsum,
    }
    return _tidy(float(funcs[name](data)))


def statistics_calc(args: StatisticsArgs) -> Result:
    try:
        return {name: _statistic(name, args.numbers) for name in dict.fromkeys(args.operations)}
    except OverflowError:
        raise ToolError("values too large to combine", "numbers") from None


def _depth(value: Any) -> int:
    """Nesting depth, walked with an explicit stack so a deep document cannot recurse."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if level > MAX_JSON_DEPTH:
            break
        children = (
            node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        )
        stack.extend((child, level + 1) for child in children)
    return deepest


def _shallow(value: Any) -> Any:
    if not isinstance(value, str) and _depth(value) > MAX_JSON_DEPTH:
        raise ValueError(f"JSON is nested deeper than {MAX_JSON_DEPTH} levels")
    return value


class JsonQueryArgs(ToolArgs):
    data: Annotated[Any, AfterValidator(_shallow)] = Field(
        description="JSON document: a JSON text (string) or an already parsed object/array, "
        f"at most {MAX_JSON_CHARS:,} characters."
    )
    path: str = Field(
        default="$",
        max_length=500,
        description="Path like 'users[0].name', 'items[-1]', '[\"key.with.dots\"]'; '$' = root.",
    )


_STEP = re.compile(r"\.?([^.\[\]\"]+)|\[(-?\d+)\]|\[\"((?:[^\"\\]|\\.)*)\"\]")


def parse_path(path: str) -> list[str | int]:
    text = path.strip()
    text = text[1:] if text.startswith("$") else text
    steps: list[str | int] = []
    position = 0
    while position < len(text):
        found = _STEP.match(text, position)
        if found is None or found.end() == position:
            raise ToolError(f"cannot read the path at character {position + 1}", "path")
        key, index, quoted = found.groups()
        if index is not None:
            steps.append(int(index))
        else:
            steps.append(json.loads(f'"{quoted}"') if quoted is not None else key.strip())
        position = found.end()
    return steps


def _document(data: Any) -> Any:
    """The parsed document; objects were depth-checked by the argument model already."""
    text = data if isinstance(data, str) else json.dumps(data)
    if len(text) > MAX_JSON_CHARS:
        raise ToolError(f"document is larger than {MAX_JSON_CHARS:,} characters", "data")
    try:
        document = json.loads(text) if isinstance(data, str) else data
    except json.JSONDecodeError as exc:
        raise ToolError(f"not valid JSON: {exc.msg} at line {exc.lineno}", "data") from None
    except RecursionError:
        raise ToolError("JSON is nested too deeply", "data") from None
    if _depth(document) > MAX_JSON_DEPTH:
        raise ToolError(f"JSON is nested deeper than {MAX_JSON_DEPTH} levels", "data")
    return document


def json_query(args: JsonQueryArgs) -> Result:
    node = _document(args.data)
    walked = "$"
    for step in parse_path(args.path):
        if isinstance(step, int):
            if not isinstance(node, list) or not -len(node) <= step < len(node):
                raise ToolError(f"no index [{step}] at {walked}", "path")
            walked += f"[{step}]"
        else:
            if not isinstance(node, dict) or step not in node:
                raise ToolError(f"no key {step!r} at {walked}", "path")
            walked += f".{step}"
        node = node[step]
    return {"path": args.path, "found": walked, "value": node}


TOOLS: tuple[Tool[Any], ...] = (
    Tool(
        "statistics_calc",
        "Descriptive statistics of a list of numbers: mean, median, sample stdev and variance, "
        "min, max, sum, count, mode.",
        StatisticsArgs,
        statistics_calc,
        returns={
            **{name: (int | float | None, None) for name in ALL_OPERATIONS if name != "mode"},
            "mode": (list[int | float] | None, None),
        },
        exact=tuple(name for name in ALL_OPERATIONS if name != "mode"),
    ),
    Tool(
        "json_query",
        "Extract a value from a JSON document by path: dots for keys, [n] for list indexes "
        "(negative from the end), e.g. 'orders[0].items[-1].price'.",
        JsonQueryArgs,
        json_query,
        returns={"path": (str, ...), "found": (str, ...), "value": (Any, ...)},
        exact=(),
    ),
)

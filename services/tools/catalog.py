"""All tools by name, and the one entry point worker processes call."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

from services.tools import (
    arithmetic,
    data,
    dates,
    finance,
    network,
    probability,
    structured,
    symbolic,
    text,
    units,
    zones,
)
from services.tools.math_text import math_from_text
from services.tools.registry import Result, Tool, ToolError

TOOLS: dict[str, Tool[Any]] = {
    tool.name: tool
    for family in (
        arithmetic,
        symbolic,
        dates,
        zones,
        units,
        finance,
        probability,
        text,
        data,
        structured,
        network,
    )
    for tool in family.TOOLS
}
MATH_NODE = "symbolic_math"
MATH_TEXT = "symbolic_math:text"
"""Job name for a worded `math` task: reading the words runs in the worker, like the maths."""


def get_tool(name: str) -> Tool[Any]:
    tool = TOOLS.get(name)
    if tool is None:
        raise ToolError(f"no tool named {name!r}", "tool", "unknown_tool")
    return tool


@functools.cache
def _all_specs() -> tuple[dict[str, Any], ...]:
    return tuple(tool.spec() for tool in TOOLS.values())


def spec_of(name: str) -> dict[str, Any] | None:
    return next((dict(spec) for spec in _all_specs() if spec["name"] == name), None)


def specs() -> list[dict[str, Any]]:
    """Every tool's published spec. Built once (about 50 ms of schema generation, which
    would otherwise block the event loop on every GET /tools); callers get copies."""
    return [dict(spec) for spec in _all_specs()]


MAX_RESULT_CHARS = 1_000_000
"""Largest result (as JSON) any interface hands out; a bigger one is `result_too_large`."""


def _json_safe(result: Result) -> Result:
    """Every interface sends results as JSON, where infinities and NaN do not exist."""
    try:
        size = len(json.dumps(result, allow_nan=False))
    except ValueError:
        raise ToolError("the result is not a finite number", None, "resource_limit") from None
    if size > MAX_RESULT_CHARS:
        message = f"the result is {size:,} characters of JSON (limit {MAX_RESULT_CHARS:,})"
        raise ToolError(message, None, "result_too_large")
    return result


def execute(name: str, args: Mapping[str, Any] | None) -> Result:
    """Validate and run one call; ToolError is the only failure a caller should see."""
    if name == MATH_TEXT:
        task = str((args or {}).get("task", ""))
        math = TOOLS[MATH_NODE]
        return _json_safe(math.check_output(math.func(math_from_text(task))))
    return _json_safe(get_tool(name).run(args))

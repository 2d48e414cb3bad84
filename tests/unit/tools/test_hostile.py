"""Hostile input for every tool ends quickly in a structured error naming the argument,
through the real worker pool (so runaway work is stopped by the time limit)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.tools.registry import ToolError
from services.tools.runner import ToolRunner

pytestmark = pytest.mark.timeout(60)

HOSTILE: list[tuple[str, dict[str, Any], str | None]] = [
    ("calculate", {"expression": "9**9**9"}, "expression"),
    ("calculate", {"expression": "factorial(10**6)"}, "expression"),
    ("calculate", {"expression": "10**10**10"}, "expression"),
    ("calculate", {"expression": "comb(10**9, 5)"}, "expression"),
    ("calculate", {"expression": "(" * 300 + "1" + ")" * 300}, "expression"),
    ("calculate", {"expression": "1+" * 1000 + "1"}, "expression"),
    ("calculate", {"expression": "__import__('os').system('true')"}, "expression"),
    ("calculate", {"expression": 12}, "expression"),
    ("prime_factorize", {"n": 10**100}, "n"),
    ("prime_factorize", {"n": "12"}, None),  # coerced: an exact numeric string is fine
    ("gcd_lcm", {"numbers": list(range(1, 100_000))}, "numbers"),
    ("gcd_lcm", {"numbers": "1,2"}, "numbers"),
    ("roman_numeral", {"numeral": "M" * 10_000}, "numeral"),
    ("roman_numeral", {"number": 10**20}, "number"),
    ("solve_equation", {"equation": "x^(9^9^9) = 1"}, "equation"),
    ("solve_equation", {"equation": "x = " + "x+" * 1000}, "equation"),
    ("solve_equation", {"equation": "x.__class__ = 1"}, "equation"),
    ("symbolic_math", {"operation": "simplify", "expression": "factorial(10**6)"}, "expression"),
    (
        "symbolic_math",
        {"operation": "simplify", "expression": "exp(exp(exp(exp(1000))))"},
        "expression",
    ),
    ("symbolic_math", {"operation": "eval", "expression": "x"}, "operation"),
    ("date_add", {"date": "2024-01-01", "years": 10**9}, "years"),
    ("date_add", {"date": "9999-12-31", "days": 1}, "days"),
    ("date_diff", {"start": "0000-01-01", "end": "2024-01-01"}, "start"),
    ("day_of_week", {"date": "2024-02-30"}, "date"),
    ("unit_convert", {"value": 1, "from_unit": "m" * 1000, "to_unit": "m"}, "from_unit"),
    ("unit_convert", {"value": 1e308, "from_unit": "km", "to_unit": "nm"}, "value"),
    ("unit_convert", {"value": 1, "from_unit": "__import__", "to_unit": "m"}, "from_unit"),
    ("hash_text", {"text": "x" * 2_000_000}, "text"),
    ("base64_codec", {"text": "x" * 2_000_000}, "text"),
    ("base64_codec", {"text": "%%%%", "mode": "decode"}, "text"),
    ("regex_extract", {"pattern": "(a+)+$", "text": "a" * 5000 + "b"}, "pattern"),
    ("regex_extract", {"pattern": "(x+x+)+y", "text": "x" * 5000}, "pattern"),
    ("regex_extract", {"pattern": "a{4294967296}", "text": "a"}, "pattern"),
    ("regex_extract", {"pattern": "a", "text": "a" * 200_000}, "text"),
    ("text_analyze", {"text": "x" * 2_000_000}, "text"),
    ("statistics_calc", {"numbers": [1.0] * 200_000}, "numbers"),
    ("statistics_calc", {"numbers": [1e308, 1e308], "operations": ["mean"]}, "numbers"),
    ("json_query", {"data": "[" * 100_000 + "]" * 100_000, "path": "$"}, "data"),
    ("json_query", {"data": json.dumps({"k": "v" * 1_000_000}), "path": "k"}, "data"),
    ("json_query", {"data": json.loads("[" * 500 + "]" * 500), "path": "$"}, "data"),
    ("json_query", {"data": "[" * 500 + "]" * 500, "path": "$"}, "data"),
    ("json_query", {"data": "{}", "path": "a" * 10_000}, "path"),
    ("subnet_calc", {"cidr": "1" * 10_000}, "cidr"),
    ("subnet_calc", {"cidr": "::/-1"}, "cidr"),
]


@pytest.mark.parametrize(("tool", "args", "argument"), HOSTILE, ids=lambda v: str(v)[:40])
async def test_hostile_input_fails_fast(
    runner: ToolRunner, tool: str, args: dict[str, Any], argument: str | None
) -> None:
    if argument is None:
        await runner.invoke(tool, args)
        return
    with pytest.raises(ToolError) as info:
        await runner.invoke(tool, args)
    assert info.value.argument == argument, info.value


async def test_fifty_megabyte_json_is_refused(runner: ToolRunner) -> None:
    document = json.dumps({"rows": ["x" * 1000] * 50_000})
    assert len(document) > 50_000_000
    with pytest.raises(ToolError) as info:
        await runner.invoke("json_query", {"data": document, "path": "rows[0]"})
    assert (info.value.argument, "larger than" in info.value.message) == ("data", True)


async def test_unknown_tool_and_unknown_argument(runner: ToolRunner) -> None:
    with pytest.raises(ToolError) as info:
        await runner.invoke("rm_rf", {})
    assert (info.value.argument, info.value.code) == ("tool", "unknown_tool")
    with pytest.raises(ToolError) as info:
        await runner.invoke("calculate", {"expression": "1", "shell": "ls"})
    assert (info.value.argument, info.value.message) == ("shell", "unknown argument")


async def test_backtracking_regex_is_stopped_by_the_time_limit(runner: ToolRunner) -> None:
    with pytest.raises(ToolError) as info:
        await runner.invoke("regex_extract", {"pattern": "(a|aa)+$", "text": "a" * 100 + "b"})
    assert (info.value.code, info.value.argument) == ("timeout", "pattern")
    # The pool replaced the killed worker: the next call is answered normally.
    assert (await runner.invoke("calculate", {"expression": "6*7"}))["result"] == 42

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
    (
        "timezone_convert",
        {"time": "9999-12-31T23:00", "from_zone": "UTC", "to_zone": "Asia/Tokyo"},
        "time",
    ),
    ("timezone_convert", {"time": "x" * 100_000, "from_zone": "UTC", "to_zone": "UTC"}, "time"),
    (
        "timezone_convert",
        {"time": "2024-01-01T00:00", "from_zone": "UTC/" * 1000, "to_zone": "UTC"},
        "from_zone",
    ),
    ("time_facts", {"time": "2024-01-01T00:00", "zone": "../../../../etc/localtime"}, "zone"),
    ("decimal_finance", {"operation": "sum", "amounts": ["1"] * 100_000}, "amounts"),
    ("decimal_finance", {"operation": "sum", "amounts": ["9" * 100_000]}, "amounts"),
    (
        "decimal_finance",
        {"operation": "compound_interest", "amount": "1", "rate": "999999", "periods": 1200},
        "rate",
    ),
    (
        "decimal_finance",
        {"operation": "amortization", "amount": "1", "rate": "1", "periods": 10**9},
        "periods",
    ),
    ("exact_probability", {"operation": "factorial", "n": 10**12}, "n"),
    (
        "exact_probability",
        {"operation": "binomial", "n": 100_000, "k": 50_000, "p": "1/2", "comparison": "at_most"},
        "n",
    ),
    (
        "exact_probability",
        {"operation": "expected_value", "values": ["1"] * 2000, "probabilities": ["1"] * 2000},
        "values",
    ),
    ("exact_probability", {"operation": "binomial", "n": 3, "k": 1, "p": "1" * 1000 + "/3"}, "p"),
    ("structured_validate", {"format": "json", "text": "[" * 500_000 + "]" * 500_000}, "text"),
    ("structured_validate", {"format": "yaml", "text": "[" * 100_000 + "]" * 100_000}, "text"),
    ("structured_validate", {"format": "json", "text": "x" * 2_000_000}, "text"),
    (
        "structured_validate",
        {"format": "yaml", "text": "a: &a [x]\n" + "b: [*a, *a]\n" * 1000},
        "text",
    ),
    (
        "structured_validate",
        {"format": "xml", "text": "<!DOCTYPE a [" + "<!ENTITY a 'b'>" * 10_000 + "]><a/>"},
        "text",
    ),
    (
        "structured_validate",
        {
            "format": "json",
            "text": "{}",
            "json_schema": json.loads('{"items":' * 300 + "{}" + "}" * 300),
        },
        "json_schema",
    ),
    (
        "structured_validate",
        {
            "format": "json",
            "text": '"' + "a" * 50_000 + '!"',
            "json_schema": {"pattern": "^(a+)+$"},
        },
        "json_schema",
    ),
    ("calculate", {"expression": "9**9**9 + 5%"}, "expression"),
    ("calculate", {"expression": "1" * 400 + ".5% of " + "9" * 90}, "expression"),
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

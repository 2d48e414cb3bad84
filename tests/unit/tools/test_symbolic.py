"""Known answers: solve_equation, the symbolic math node, and reading worded math tasks."""

from __future__ import annotations

import pytest

from services.tools.math_text import math_from_text
from services.tools.registry import ToolError
from tests.unit.tools.helpers import call, fails


def test_solve_linear() -> None:
    result = call("solve_equation", equation="2x + 3 = 7")
    assert result["variable"] == "x"
    assert result["solutions"] == ["2"]


def test_solve_quadratic_with_irrational_roots() -> None:
    result = call("solve_equation", equation="x^2 - 2 = 0")
    assert result["solutions"] == ["-sqrt(2)", "sqrt(2)"]
    assert result["numeric"] == ["-1.41421356237310", "1.41421356237310"]


def test_solve_without_equals_sets_expression_to_zero() -> None:
    assert call("solve_equation", equation="y^2 - 9", variable="y")["solutions"] == ["-3", "3"]


def test_solve_needs_a_named_unknown_when_ambiguous() -> None:
    assert fails("solve_equation", equation="a + b = 3").argument == "variable"
    assert call("solve_equation", equation="a + b = 3", variable="a")["solutions"] == ["3 - b"]


def test_solve_identity_and_contradiction() -> None:
    assert call("solve_equation", equation="x + 1 = x + 1")["note"] == "every value"
    assert call("solve_equation", equation="1 = 2")["note"] == "none"


@pytest.mark.parametrize(
    ("operation", "expression", "extra", "expected"),
    [
        ("simplify", "(x^2 - 1)/(x - 1)", {}, "x + 1"),
        ("simplify", "sin(x)^2 + cos(x)^2", {}, "1"),
        ("differentiate", "x^3 + 2x", {}, "3*x**2 + 2"),
        ("differentiate", "x^4", {"order": 2}, "12*x**2"),
        ("differentiate", "sin(t) t", {"variable": "t"}, "t*cos(t) + sin(t)"),
        ("integrate", "2x", {}, "x**2"),
        ("integrate", "x^2", {"lower": "0", "upper": "3"}, "9"),
        ("integrate", "sin(x)", {"lower": "0", "upper": "pi"}, "2"),
        ("solve", "x^2 = 4", {}, None),
    ],
)
def test_math_node(
    operation: str, expression: str, extra: dict[str, object], expected: str | None
) -> None:
    result = call("symbolic_math", operation=operation, expression=expression, **extra)
    if expected is None:
        assert result["solutions"] == ["-2", "2"]
    else:
        assert result["result"] == expected


def test_integral_bounds_come_in_pairs() -> None:
    assert (
        fails("symbolic_math", operation="integrate", expression="x", lower="0").argument == "upper"
    )


@pytest.mark.parametrize(
    "expression",
    ["__import__('os')", "x.__class__", "lambda: 1", "x; y", "[x]", "import os", "{x}", "x!"],
)
def test_formula_screening_rejects_code(expression: str) -> None:
    error = fails("symbolic_math", operation="simplify", expression=expression)
    assert error.argument == "expression"


def test_unknown_names_become_symbols_not_builtins() -> None:
    assert (
        call("symbolic_math", operation="simplify", expression="open + open")["result"] == "2*open"
    )
    assert call("symbolic_math", operation="simplify", expression="exec(1)")["result"] == "exec"


@pytest.mark.parametrize(
    ("text", "operation", "expression", "variable"),
    [
        ("Find the derivative of x^3 + 2x with respect to x", "differentiate", "x^3 + 2x", "x"),
        ("Solve for x: 3x - 7 = 11", "solve", "3x - 7 = 11", "x"),
        ("Simplify (x^2 - 1)/(x - 1)", "simplify", "(x^2 - 1)/(x - 1)", None),
        ("What is the integral of x^2 dx?", "integrate", "x^2", "x"),
        ("solve x^2 - 4 = 0", "solve", "x^2 - 4 = 0", None),
    ],
)
def test_math_from_text(text: str, operation: str, expression: str, variable: str | None) -> None:
    args = math_from_text(text)
    assert (args.operation, args.expression, args.variable) == (operation, expression, variable)


def test_math_from_text_definite_integral() -> None:
    args = math_from_text("Integrate sin(x) from 0 to pi")
    assert (args.expression, args.lower, args.upper) == ("sin(x)", "0", "pi")


def test_math_from_text_without_formula() -> None:
    with pytest.raises(ToolError) as info:
        math_from_text("please simplify this")
    assert info.value.argument == "task"

"""Symbolic mathematics with SymPy: solve_equation and the math node (simplify,
differentiate, integrate, solve) used for `math` tasks that name no precision tool."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import sympy
from pydantic import Field

from services.tools.registry import Result, Tool, ToolArgs, ToolError
from services.tools.sympy_parse import parse, symbol

Operation = Literal["simplify", "differentiate", "integrate", "solve"]


class SolveEquationArgs(ToolArgs):
    equation: str = Field(
        min_length=1,
        max_length=500,
        description="Equation, e.g. '2x + 3 = 7' or 'x^2 - 4 = 0'; without '=' it is set to 0.",
    )
    variable: str | None = Field(
        default=None, max_length=20, description="Unknown to solve for; default: the only one."
    )


class MathArgs(ToolArgs):
    operation: Operation = Field(description="What to do with the expression.")
    expression: str = Field(
        min_length=1,
        max_length=500,
        description="Formula, e.g. 'x^2 sin(x)'; for solve an equation like 'x^2 = 2'.",
    )
    variable: str | None = Field(
        default=None,
        max_length=20,
        description="Variable to differentiate, integrate or solve for.",
    )
    order: int = Field(default=1, ge=1, le=10, description="Derivative order.")
    lower: str | None = Field(default=None, max_length=100, description="Lower integral bound.")
    upper: str | None = Field(default=None, max_length=100, description="Upper integral bound.")


def _equation(text: str, argument: str) -> Any:
    sides = text.split("=")
    if len(sides) > 2 or any(not side.strip() for side in sides):
        raise ToolError("write an equation with exactly one '=' (or none)", argument)
    if len(sides) == 1:
        return parse(sides[0], argument)
    return sympy.Eq(parse(sides[0], argument), parse(sides[1], argument))


def _variable(expr: Any, name: str | None) -> sympy.Symbol:
    chosen = symbol(name)
    if chosen is not None:
        return chosen
    free = sorted(expr.free_symbols, key=str)
    if len(free) == 1:
        return free[0]
    if sympy.Symbol("x") in free or not free:
        return sympy.Symbol("x")
    raise ToolError(f"several unknowns ({', '.join(map(str, free))}): name one", "variable")


def _numeric(value: Any) -> str | None:
    """A 15-digit decimal for numeric results that are not already plain integers."""
    if not getattr(value, "is_number", False) or getattr(value, "is_Integer", False):
        return None
    return str(sympy.N(value, 15))


def _solve(text: str, variable: str | None, argument: str) -> Result:
    equation = _equation(text, argument)
    if equation is sympy.true or equation is sympy.false:
        every = equation is sympy.true
        return {"equation": text, "solutions": [], "note": "every value" if every else "none"}
    unknown = _variable(equation, variable)
    solutions = sympy.solve(equation, unknown)
    return {
        "equation": text,
        "variable": str(unknown),
        "solutions": [str(s) for s in solutions],
        "numeric": [n for n in map(_numeric, solutions) if n is not None],
    }


def _guarded(argument: str, compute: Callable[[], Result]) -> Result:
    """SymPy's own failures (no algorithm, numbers too big to show) as argument errors."""
    try:
        return compute()
    except (NotImplementedError, OverflowError, ValueError, TypeError, ZeroDivisionError) as exc:
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise ToolError(f"SymPy cannot do this: {detail}", argument) from None


def solve_equation(args: SolveEquationArgs) -> Result:
    return _guarded("equation", lambda: _solve(args.equation, args.variable, "equation"))


def _integrate(expr: Any, unknown: sympy.Symbol, args: MathArgs) -> Any:
    if (args.lower is None) != (args.upper is None):
        raise ToolError("give both bounds or neither", "lower" if args.lower is None else "upper")
    if args.lower is None or args.upper is None:
        return sympy.integrate(expr, unknown)
    bounds = (parse(args.lower, "lower"), parse(args.upper, "upper"))
    return sympy.integrate(expr, (unknown, *bounds))


def symbolic_math(args: MathArgs) -> Result:
    return _guarded("expression", lambda: _math(args))


def _math(args: MathArgs) -> Result:
    if args.operation == "solve":
        return _solve(args.expression, args.variable, "expression") | {"operation": "solve"}
    expr = parse(args.expression)
    if args.operation == "simplify":
        value = sympy.simplify(expr)
    else:
        unknown = _variable(expr, args.variable)
        if args.operation == "differentiate":
            value = sympy.diff(expr, unknown, args.order)
        else:
            value = _integrate(expr, unknown, args)
    result: Result = {"operation": args.operation, "expression": args.expression}
    result["result"] = str(value)
    if value.has(sympy.Integral):
        result["note"] = "no closed form found"
    numeric = _numeric(value)
    if numeric is not None:
        result["numeric"] = numeric
    return result


_SOLVED: dict[str, Any] = {
    "equation": (str, ...),
    "variable": (str | None, None),
    "solutions": (list[str], ...),
    "numeric": (list[str] | None, None),
    "note": (str | None, None),
}


TOOLS: tuple[Tool[Any], ...] = (
    Tool(
        "solve_equation",
        "Solve an equation for one unknown exactly with SymPy, e.g. '3x - 7 = 11' or "
        "'x^2 + x - 6 = 0'. Returns all solutions and decimal values.",
        SolveEquationArgs,
        solve_equation,
        timeout_argument="equation",
        returns=_SOLVED,
        exact=("solutions",),
    ),
    Tool(
        "symbolic_math",
        "Symbolic algebra and calculus with SymPy: simplify an expression, differentiate or "
        "integrate it (optionally between bounds), or solve an equation.",
        MathArgs,
        symbolic_math,
        timeout_argument="expression",
        returns={
            **_SOLVED,
            "equation": (str | None, None),
            "solutions": (list[str] | None, None),
            "numeric": (list[str] | str | None, None),
            "operation": (str, ...),
            "expression": (str | None, None),
            "result": (str | None, None),
        },
        exact=("result", "solutions"),
    ),
)

"""Arithmetic without `eval`: the expression is parsed with `ast` and only a whitelist of
node types is walked. Rationals stay exact (`Fraction`), so 0.1 + 0.2 is 0.3; irrational
functions fall back to floats. Every intermediate integer is size-checked *before* it is
computed, so `9**9**9` or `factorial(10**6)` fail at once instead of eating the CPU.

Percent forms read as people mean them: `15% of 100` is 15, `100 + 15%` is 115 (and
`100 - 15%` is 85: the percentage is of the left operand), `2340 * 17.5%` is 409.5. A `%`
followed by an operand is still the modulo operator."""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable
from fractions import Fraction

from services.tools.registry import ToolError

Number = Fraction | float

MAX_BITS = 10_000  # ~3000 decimal digits: larger results are refused, not computed
MAX_FACTORIAL = 1_000
MAX_COMB = 10_000
ARG = "expression"

CONSTANTS: dict[str, Number] = {"pi": math.pi, "e": math.e, "tau": math.tau}
_FLOAT_FUNCS: dict[str, Callable[..., float]] = {
    name: getattr(math, name)
    for name in (
        [
            "exp",
            "log",
            "log10",
            "log2",
            "sin",
            "cos",
            "tan",
            "asin",
            "acos",
            "atan",
            "atan2",
            "sinh",
            "cosh",
            "tanh",
            "degrees",
            "radians",
            "hypot",
        ]
    )
}
_BINOPS: dict[type[ast.operator], Callable[[Number, Number], Number]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
# Typographic operators (multiplication sign, division sign, minus sign) and ^ as power.
_REPLACEMENTS = {"\u00d7": "*", "\u00f7": "/", "\u2212": "-", "^": "**"}
# A number directly followed by % and then no operand: a percentage, not a modulo.
PERCENT = "__percent__"
_PERCENT_OF = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*%\s*of\b", re.IGNORECASE)
_PERCENT = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*%(?!\s*[\w.(])")


def _percent_forms(expression: str) -> str:
    expression = _PERCENT_OF.sub(rf"{PERCENT}(\1) *", expression)
    return _PERCENT.sub(rf"{PERCENT}(\1)", expression)


def evaluate(expression: str) -> Number:
    for old, new in _REPLACEMENTS.items():
        expression = expression.replace(old, new)
    expression = _percent_forms(expression)
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise ToolError(f"not a valid arithmetic expression ({exc.msg})", ARG) from None
    try:
        return _checked(_eval(tree.body))
    except ZeroDivisionError:
        raise ToolError("division by zero", ARG) from None
    except OverflowError:
        raise ToolError("result is too large for a float", ARG) from None
    except (ValueError, TypeError) as exc:
        raise ToolError(f"math domain error: {exc}", ARG) from None
    except RecursionError:
        raise ToolError("expression is nested too deeply", ARG) from None


def _eval(node: ast.expr) -> Number:
    if isinstance(node, ast.Constant):
        return _literal(node.value)
    if isinstance(node, ast.Name):
        if node.id not in CONSTANTS:
            raise ToolError(f"unknown name {node.id!r} (constants: pi, e, tau)", ARG)
        return CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _eval(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp):
        left = _eval(node.left)
        if isinstance(node.op, ast.Add | ast.Sub) and _is_percent(node.right):
            # 100 + 15% adds 15 % of 100: the percentage scales the left operand.
            share = left * _eval(node.right)
            return _checked(left + share if isinstance(node.op, ast.Add) else left - share)
        right = _eval(node.right)
        if isinstance(node.op, ast.Pow):
            return _checked(_power(left, right))
        op = _BINOPS.get(type(node.op))
        if op is None:
            raise ToolError(f"operator {type(node.op).__name__} is not allowed", ARG)
        return _checked(op(left, right))
    if isinstance(node, ast.Call):
        return _checked(_call(node))
    raise ToolError(f"{type(node).__name__} is not allowed in an arithmetic expression", ARG)


def _is_percent(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == PERCENT
    )


def _literal(value: object) -> Number:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ToolError(f"literal {value!r} is not a real number", ARG)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ToolError("number literal is out of range", ARG)
        return Fraction(repr(value))  # the decimal the user wrote, exactly
    return Fraction(value)


def _checked(value: Number | int) -> Number:
    if isinstance(value, int):  # Fraction // Fraction gives a plain int
        value = Fraction(value)
    if isinstance(value, complex):
        raise ToolError("result is not a real number", ARG)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ToolError("result is not a finite number", ARG)
        return value
    if max(value.numerator.bit_length(), value.denominator.bit_length()) > MAX_BITS:
        raise ToolError(f"result exceeds {MAX_BITS} bits", ARG)
    return value


def _power(base: Number, exp: Number) -> Number:
    if isinstance(base, Fraction) and isinstance(exp, Fraction) and exp.denominator == 1:
        n = exp.numerator
        if base.denominator == 1 and abs(base.numerator) <= 1:
            if base == 0 and n < 0:
                raise ZeroDivisionError
            return base**n
        size = max(base.numerator.bit_length(), base.denominator.bit_length())
        if size * abs(n) > MAX_BITS:
            raise ToolError(f"power result would exceed {MAX_BITS} bits", ARG)
        return base**n
    if base < 0 and not float(exp).is_integer():
        raise ToolError("fractional power of a negative number is not real", ARG)
    return math.pow(base, exp)


def _integer(value: Number, name: str) -> int:
    if isinstance(value, float) or value.denominator != 1:
        raise ToolError(f"{name}() needs integer arguments", ARG)
    return value.numerator


def _call(node: ast.Call) -> Number:
    if not isinstance(node.func, ast.Name) or node.keywords:
        raise ToolError("only plain calls of math functions are allowed", ARG)
    name = node.func.id
    if name not in _FLOAT_FUNCS and name not in _EXACT_FUNCS:
        known = ", ".join(sorted({*_FLOAT_FUNCS, *_EXACT_FUNCS} - {PERCENT}))
        raise ToolError(f"unknown function {name!r} (known: {known})", ARG)
    args = [_eval(arg) for arg in node.args]
    if not args:
        raise ToolError(f"{name}() needs at least one argument", ARG)
    if name in _FLOAT_FUNCS:
        return _FLOAT_FUNCS[name](*(float(a) for a in args))
    return _EXACT_FUNCS[name](name, args)


def _one(name: str, args: list[Number]) -> Number:
    if len(args) != 1:
        raise ToolError(f"{name}() takes exactly one argument", ARG)
    return args[0]


def _absolute(value: Number) -> Number:
    return -value if value < 0 else value


def _sqrt(name: str, args: list[Number]) -> Number:
    x = _one(name, args)
    if isinstance(x, Fraction) and x >= 0:
        num, den = math.isqrt(x.numerator), math.isqrt(x.denominator)
        if Fraction(num, den) ** 2 == x:
            return Fraction(num, den)
    return math.sqrt(x)


def _factorial(name: str, args: list[Number]) -> Number:
    n = _integer(_one(name, args), name)
    if not 0 <= n <= MAX_FACTORIAL:
        raise ToolError(f"factorial() takes an integer between 0 and {MAX_FACTORIAL}", ARG)
    return Fraction(math.factorial(n))


def _combinatorics(name: str, args: list[Number]) -> Number:
    if len(args) != 2:
        raise ToolError(f"{name}() takes two arguments (n, k)", ARG)
    n, k = (_integer(a, name) for a in args)
    if not 0 <= n <= MAX_COMB or k < 0:
        raise ToolError(f"{name}() needs 0 <= n <= {MAX_COMB} and k >= 0", ARG)
    return Fraction(math.comb(n, k) if name == "comb" else math.perm(n, k))


def _integers(name: str, args: list[Number]) -> Number:
    ints = [_integer(a, name) for a in args]
    return Fraction(math.gcd(*ints) if name == "gcd" else math.lcm(*ints))


def _round(name: str, args: list[Number]) -> Number:
    if len(args) not in (1, 2):
        raise ToolError("round() takes a number and optional digits", ARG)
    digits = _integer(args[1], name) if len(args) == 2 else 0
    if abs(digits) > 100:
        raise ToolError("round() digits must be between -100 and 100", ARG)
    return Fraction(round(Fraction(args[0]), digits))


_EXACT_FUNCS: dict[str, Callable[[str, list[Number]], Number]] = {
    "sqrt": _sqrt,
    "abs": lambda name, args: _absolute(_one(name, args)),
    "floor": lambda name, args: Fraction(math.floor(_one(name, args))),
    "ceil": lambda name, args: Fraction(math.ceil(_one(name, args))),
    "round": _round,
    "factorial": _factorial,
    "comb": _combinatorics,
    "perm": _combinatorics,
    "gcd": _integers,
    "lcm": _integers,
    PERCENT: lambda name, args: _one("percentage", args) / 100,
    "min": lambda name, args: min(args),
    "max": lambda name, args: max(args),
}

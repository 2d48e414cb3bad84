"""Reading user formulas into SymPy without running user code.

`parse_expr` evaluates generated Python, so the text is screened first: a character
whitelist, no dunders, no keywords, no attribute access, and a namespace holding only the
SymPy constructors the transformations emit plus elementary functions (no `__builtins__`).
Parsing runs twice: first unevaluated through guarded `Pow`/`factorial` constructors that
refuse huge exponents and arguments, then evaluated once the tree is known to be small."""

from __future__ import annotations

import keyword
import re
from tokenize import TokenError
from typing import Any

import sympy
from sympy.parsing.sympy_parser import (
    auto_number,
    auto_symbol,
    convert_xor,
    implicit_multiplication,
    parse_expr,
    repeated_decimals,
)

from services.tools.registry import ToolError

MAX_EXPONENT = 1_000
MAX_FACTORIAL = 1_000
# factorial_notation ('5!') is left out on purpose: it evaluates during parsing, unguarded.
_TRANSFORMS = (auto_symbol, repeated_decimals, auto_number, implicit_multiplication, convert_xor)
_ALLOWED_CHARS = re.compile(r"[A-Za-z0-9_\s+\-*/^().,=]*")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ATTRIBUTE = re.compile(r"[A-Za-z_)]\s*\.|\.\s*[A-Za-z_(]")
# Typographic operators (multiplication, division, minus signs) and superscripts 2 and 3.
_UNICODE = {"\u00d7": "*", "\u00f7": "/", "\u2212": "-", "\u00b2": "^2", "\u00b3": "^3"}

FUNCTIONS: dict[str, Any] = {
    name: getattr(sympy, name)
    for name in [
        "sin",
        "cos",
        "tan",
        "cot",
        "sec",
        "csc",
        "asin",
        "acos",
        "atan",
        "sinh",
        "cosh",
        "tanh",
        "asinh",
        "acosh",
        "atanh",
        "exp",
        "log",
        "sqrt",
        "root",
        "Abs",
        "sign",
        "floor",
        "ceiling",
        "pi",
        "E",
        "I",
        "oo",
    ]
}
FUNCTIONS.update({"ln": sympy.log, "abs": sympy.Abs, "e": sympy.E, "inf": sympy.oo})


def _number(value: sympy.Expr) -> float:
    """Magnitude of a constant subtree; only called on trees the guards already bounded."""
    return float(abs(sympy.N(value, 15)))


def _guarded_pow(base: Any, exp: Any, evaluate: bool = True) -> Any:
    exp = sympy.sympify(exp)
    if exp.is_number and not exp.has(sympy.I) and _number(exp) > MAX_EXPONENT:
        raise ToolError(f"exponent larger than {MAX_EXPONENT} is refused", "expression")
    return sympy.Pow(base, exp, evaluate=evaluate)


def _guarded_factorial(n: Any, evaluate: bool = True) -> Any:
    n = sympy.sympify(n)
    if n.is_number and _number(n) > MAX_FACTORIAL:
        raise ToolError(f"factorial argument larger than {MAX_FACTORIAL}", "expression")
    return sympy.factorial(n, evaluate=evaluate)


def _namespace() -> dict[str, Any]:
    names: dict[str, Any] = {"__builtins__": {}}
    for name in ["Symbol", "Integer", "Float", "Rational", "Function", "Add", "Mul"]:
        names[name] = getattr(sympy, name)
    names.update(FUNCTIONS, Pow=_guarded_pow, factorial=_guarded_factorial)
    return names


def screen(text: str, argument: str) -> str:
    for old, new in _UNICODE.items():
        text = text.replace(old, new)
    if not _ALLOWED_CHARS.fullmatch(text):
        bad = sorted({ch for ch in text if not _ALLOWED_CHARS.fullmatch(ch)})
        raise ToolError(f"characters not allowed in a formula: {''.join(bad)!r}", argument)
    if _ATTRIBUTE.search(text):
        raise ToolError("attribute access is not allowed", argument)
    for name in _NAME.findall(text):
        if "__" in name or keyword.iskeyword(name):
            raise ToolError(f"name {name!r} is not allowed in a formula", argument)
    return text


def parse(text: str, argument: str = "expression", symbols: dict[str, Any] | None = None) -> Any:
    """A SymPy expression for `text`, or a ToolError naming `argument`."""
    text = screen(text, argument)
    local = dict(symbols or {})
    try:
        parse_expr(text, dict(local), _TRANSFORMS, _namespace(), evaluate=False)
        return parse_expr(text, local, _TRANSFORMS, _namespace(), evaluate=True)
    except ToolError as exc:
        raise ToolError(exc.message, argument) from None
    except (SyntaxError, TokenError, TypeError, ValueError, AttributeError) as exc:
        raise ToolError(f"cannot read the formula ({type(exc).__name__})", argument) from None


def symbol(name: str | None, argument: str = "variable") -> sympy.Symbol | None:
    if name is None:
        return None
    if not _NAME.fullmatch(name) or "__" in name or keyword.iskeyword(name) or name in FUNCTIONS:
        raise ToolError(f"{name!r} is not a usable variable name", argument)
    return sympy.Symbol(name)

"""Exact integer and arithmetic tools: calculate, prime_factorize, gcd_lcm, roman_numeral."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from pydantic import Field, field_validator
from sympy import factorint

from services.tools.registry import Result, Tool, ToolArgs, ToolError
from services.tools.safe_calc import Number, evaluate

MAX_FACTORIZE = 10**18  # sympy's Pollard rho stays well under a second below this


class CalculateArgs(ToolArgs):
    expression: str = Field(
        min_length=1,
        max_length=500,
        description=(
            "Arithmetic expression, e.g. '(2 + 3) * 4 ** 2 / 7' or 'sqrt(2) * sin(pi/4)'. "
            "Operators + - * / // % ** (also ^ for power), parentheses, constants pi e tau, "
            "functions sqrt abs floor ceil round factorial comb perm gcd lcm min max exp "
            "log log10 log2 sin cos tan asin acos atan atan2 sinh cosh tanh degrees "
            "radians hypot."
        ),
    )


def json_number(value: Number) -> int | float:
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return value.numerator
        try:
            return float(value)
        except OverflowError:
            message = "the result is a fraction too large to show as a decimal"
            raise ToolError(message, "expression", "result_too_large") from None
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def calculate(args: CalculateArgs) -> Result:
    value = evaluate(args.expression)
    result: Result = {"expression": args.expression, "result": json_number(value)}
    if isinstance(value, Fraction) and value.denominator != 1 and len(str(value)) <= 40:
        result["exact"] = str(value)
    return result


class PrimeFactorizeArgs(ToolArgs):
    n: int = Field(ge=2, le=MAX_FACTORIZE, description="Integer to factor, 2 to 10^18.")


def prime_factorize(args: PrimeFactorizeArgs) -> Result:
    powers = factorint(args.n)
    factors = [int(p) for p, k in sorted(powers.items()) for _ in range(k)]
    shown = " * ".join(f"{p}^{k}" if k > 1 else str(p) for p, k in sorted(powers.items()))
    return {
        "n": args.n,
        "factors": factors,
        "factorization": shown,
        "is_prime": factors == [args.n],
    }


class GcdLcmArgs(ToolArgs):
    numbers: list[int] = Field(
        min_length=2,
        max_length=100,
        description="Two to 100 integers, each at most 30 digits.",
    )

    @field_validator("numbers")
    @classmethod
    def _bounded(cls, numbers: list[int]) -> list[int]:
        for i, n in enumerate(numbers):
            if abs(n) >= 10**30:
                raise ValueError(f"numbers[{i}] has more than 30 digits")
        return numbers


def gcd_lcm(args: GcdLcmArgs) -> Result:
    return {
        "numbers": args.numbers,
        "gcd": math.gcd(*args.numbers),
        "lcm": math.lcm(*args.numbers),
    }


_ROMAN = [
    (1000, "M"),
    (900, "CM"),
    (500, "D"),
    (400, "CD"),
    (100, "C"),
    (90, "XC"),
    (50, "L"),
    (40, "XL"),
    (10, "X"),
    (9, "IX"),
    (5, "V"),
    (4, "IV"),
    (1, "I"),
]
_DIGIT = {"M": 1000, "D": 500, "C": 100, "L": 50, "X": 10, "V": 5, "I": 1}


class RomanArgs(ToolArgs):
    number: int | None = Field(
        default=None, ge=1, le=3999, description="Integer 1-3999 to write as a Roman numeral."
    )
    numeral: str | None = Field(
        default=None,
        min_length=1,
        max_length=20,
        description="Roman numeral (e.g. 'MMMCMXCIX') to read as an integer. "
        "Give number or numeral.",
    )


def to_roman(number: int) -> str:
    parts = []
    for value, letters in _ROMAN:
        count, number = divmod(number, value)
        parts.append(letters * count)
    return "".join(parts)


def from_roman(numeral: str) -> int:
    text = numeral.strip().upper()
    if not text or any(ch not in _DIGIT for ch in text):
        raise ToolError("only the letters I V X L C D M are allowed", "numeral")
    total = 0
    for i, ch in enumerate(text):
        value = _DIGIT[ch]
        following = _DIGIT[text[i + 1]] if i + 1 < len(text) else 0
        total += -value if value < following else value
    # Accept only the canonical spelling, so 'IIII' or 'IC' are rejected, not guessed.
    if not 1 <= total <= 3999 or to_roman(total) != text:
        raise ToolError(f"{numeral!r} is not a well-formed Roman numeral (1-3999)", "numeral")
    return total


def roman_numeral(args: RomanArgs) -> Result:
    if (args.number is None) == (args.numeral is None):
        raise ToolError("give exactly one of number or numeral", "number")
    if args.number is not None:
        return {"number": args.number, "numeral": to_roman(args.number)}
    assert args.numeral is not None
    return {"numeral": args.numeral.strip().upper(), "number": from_roman(args.numeral)}


TOOLS: tuple[Tool[Any], ...] = (
    Tool(
        "calculate",
        "Evaluate an arithmetic expression exactly (rational arithmetic, math functions). "
        "Use for any numeric calculation instead of estimating.",
        CalculateArgs,
        calculate,
        returns={
            "expression": (str, ...),
            "result": (int | float, ...),
            "exact": (str | None, None),
        },
        exact=("result",),
    ),
    Tool(
        "prime_factorize",
        "Prime factorization of an integer up to 10^18, e.g. 360 = 2^3 * 3^2 * 5.",
        PrimeFactorizeArgs,
        prime_factorize,
        returns={
            "n": (int, ...),
            "factors": (list[int], ...),
            "factorization": (str, ...),
            "is_prime": (bool, ...),
        },
        exact=("factors",),
    ),
    Tool(
        "gcd_lcm",
        "Greatest common divisor and least common multiple of two or more integers.",
        GcdLcmArgs,
        gcd_lcm,
        returns={"numbers": (list[int], ...), "gcd": (int, ...), "lcm": (int, ...)},
        exact=("gcd", "lcm"),
    ),
    Tool(
        "roman_numeral",
        "Convert an integer 1-3999 to a Roman numeral, or a Roman numeral to an integer.",
        RomanArgs,
        roman_numeral,
        returns={"number": (int, ...), "numeral": (str, ...)},
        exact=("number", "numeral"),
    ),
)

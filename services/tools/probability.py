"""exact_probability: combinatorics and discrete probability as exact fractions.

Every size is costed *before* anything is computed: the number of decimal digits of the
result (from log-gamma) must stay under MAX_DIGITS, so a huge binomial is refused in
microseconds instead of filling a worker's memory."""

from __future__ import annotations

import math
import re
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema

from services.tools.registry import Result, Tool, ToolArgs, ToolError

Operation = Literal[
    "combinations", "permutations", "factorial", "binomial", "hypergeometric", "expected_value"
]
Comparison = Literal["exactly", "at_most", "at_least"]
MAX_DIGITS = 4000  # below Python's 4300-digit int-to-text limit, and quick to print
MAX_N = 100_000
DECIMAL_DIGITS = 30
_FRACTION_TEXT = r"^[+-]?(\d{1,30}(/\d{1,30})?|\d{0,30}\.\d{1,30})$"
_FRACTION = re.compile(_FRACTION_TEXT)


def _fraction(value: Any) -> Any:
    if isinstance(value, bool | float):
        raise ValueError("give exact values as strings such as '1/6' or '0.25', never floats")
    text = str(value).strip() if isinstance(value, int | str) else value
    if isinstance(text, str):
        if not _FRACTION.fullmatch(text):
            raise ValueError("not an exact number such as '3', '1/6' or '0.25'")
        try:
            return Fraction(text)
        except ZeroDivisionError:
            raise ValueError("a fraction's denominator cannot be zero") from None
    return text


Exact = Annotated[
    Fraction,
    BeforeValidator(_fraction),
    WithJsonSchema({"type": "string", "pattern": _FRACTION_TEXT}),
]
Count = Annotated[int, Field(ge=0, le=MAX_N)]


class ProbabilityArgs(ToolArgs):
    operation: Operation = Field(
        description=(
            "combinations C(n,k); permutations P(n,k); factorial n!; binomial: P(X = k) (or "
            "see comparison) for n trials of success probability p; hypergeometric: the same "
            "drawing `draws` from `population` holding `successes`; expected_value of "
            "`values` with `probabilities`."
        )
    )
    n: Count | None = Field(default=None, description="Items, or trials (binomial).")
    k: Count | None = Field(default=None, description="Chosen items, or successes observed.")
    p: Exact | None = Field(default=None, description="Success probability, e.g. '1/6'.")
    comparison: Comparison = Field(default="exactly", description="P(X = k), <= k or >= k.")
    population: Count | None = Field(default=None, description="Hypergeometric: N.")
    successes: Count | None = Field(default=None, description="Hypergeometric: K in N.")
    draws: Count | None = Field(default=None, description="Hypergeometric: n drawn.")
    values: list[Exact] | None = Field(default=None, max_length=1000, description="Outcomes.")
    probabilities: list[Exact] | None = Field(
        default=None, max_length=1000, description="Their probabilities, summing to 1."
    )


def _need(value: Any, argument: str, operation: str) -> Any:
    if value is None:
        raise ToolError(f"{operation} needs {argument}", argument)
    return value


def _digits_of_comb(n: int, k: int) -> float:
    if not 0 <= k <= n:
        return 1.0
    return (math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)) / math.log(10)


def _afford(digits: float, argument: str) -> None:
    if digits > MAX_DIGITS:
        raise ToolError(
            f"the exact result would have about {digits:,.0f} digits (limit {MAX_DIGITS:,})",
            argument,
            "resource_limit",
        )


def _counting(args: ProbabilityArgs) -> Fraction:
    n = _need(args.n, "n", args.operation)
    if args.operation == "factorial":
        _afford(math.lgamma(n + 1) / math.log(10), "n")
        return Fraction(math.factorial(n))
    k = _need(args.k, "k", args.operation)
    if args.operation == "combinations":
        _afford(_digits_of_comb(n, k), "n")
        return Fraction(math.comb(n, k))
    _afford((math.lgamma(n + 1) - math.lgamma(max(n - k, 0) + 1)) / math.log(10), "n")
    return Fraction(math.perm(n, k))


def _in_range(k: int, comparison: Comparison, low: int, high: int) -> range:
    """The values of X the probability adds up."""
    if comparison == "exactly":
        return range(k, k + 1)
    return range(low, k + 1) if comparison == "at_most" else range(k, high + 1)


def _binomial(args: ProbabilityArgs) -> Fraction:
    n, k = _need(args.n, "n", "binomial"), _need(args.k, "k", "binomial")
    p: Fraction = _need(args.p, "p", "binomial")
    if not 0 <= p <= 1:
        raise ToolError("a probability is between 0 and 1", "p")
    terms = _in_range(k, args.comparison, 0, n)
    if p in (0, 1):  # a sure outcome: X is 0 or n
        return Fraction(int((0 if p == 0 else n) in terms))
    # With p = a/b every term is C(n,i) a^i (b-a)^(n-i) / b^n, at most 1, and b >= 2:
    # b^n bounds the size of every intermediate integer, C(n,i) included.
    _afford(n * math.log10(p.denominator), "n")
    a, b = p.numerator, p.denominator
    return Fraction(_binomial_sum(n, a, b - a, terms), b**n)


def _binomial_sum(n: int, a: int, c: int, terms: range) -> int:
    """Sum of C(n,i) a^i c^(n-i) over `terms`, each term from the previous one by exact
    integer steps (no power or binomial recomputed from scratch)."""
    first = terms.start
    if first > n:
        return 0
    comb, a_power, c_power = math.comb(n, first), a**first, c ** (n - first)
    total = 0
    for i in range(first, min(terms.stop, n + 1)):
        total += comb * a_power * c_power
        comb = comb * (n - i) // (i + 1)
        a_power *= a
        c_power //= c  # c >= 1 when 0 < p < 1, and c^(n-i) is divisible by c until i = n
    return total


def _hypergeometric(args: ProbabilityArgs) -> Fraction:
    total = _need(args.population, "population", "hypergeometric")
    marked = _need(args.successes, "successes", "hypergeometric")
    drawn = _need(args.draws, "draws", "hypergeometric")
    k = _need(args.k, "k", "hypergeometric")
    if marked > total or drawn > total:
        raise ToolError("successes and draws cannot exceed the population", "population")
    _afford(_digits_of_comb(total, drawn), "population")
    low, high = max(0, drawn - (total - marked)), min(drawn, marked)
    terms = _in_range(k, args.comparison, low, high)
    ways = sum(
        math.comb(marked, i) * math.comb(total - marked, drawn - i)
        for i in terms
        if low <= i <= high
    )
    return Fraction(ways, math.comb(total, drawn))


def _expected_value(args: ProbabilityArgs) -> tuple[Fraction, Fraction]:
    values = _need(args.values, "values", "expected_value")
    weights = _need(args.probabilities, "probabilities", "expected_value")
    if len(values) != len(weights) or not values:
        raise ToolError("give one probability per value", "probabilities")
    if any(not 0 <= w <= 1 for w in weights) or sum(weights) != 1:
        raise ToolError(
            "probabilities must each be in [0, 1] and sum to exactly 1", "probabilities"
        )
    mean = sum((v * w for v, w in zip(values, weights, strict=True)), Fraction(0))
    variance = sum(((v - mean) ** 2 * w for v, w in zip(values, weights, strict=True)), Fraction(0))
    _afford(_digits(mean) + _digits(variance), "values")
    return mean, variance


def _digits(value: Fraction) -> float:
    return max(value.numerator.bit_length(), value.denominator.bit_length()) * math.log10(2)


def _decimal(value: Fraction) -> str:
    with localcontext(prec=DECIMAL_DIGITS):
        return str(Decimal(value.numerator) / Decimal(value.denominator))


def exact_probability(args: ProbabilityArgs) -> Result:
    extra: Result = {}
    if args.operation in ("combinations", "permutations", "factorial"):
        value = _counting(args)
    elif args.operation == "binomial":
        value = _binomial(args)
    elif args.operation == "hypergeometric":
        value = _hypergeometric(args)
    else:
        value, variance = _expected_value(args)
        extra = {"variance": str(variance), "variance_decimal": _decimal(variance)}
    return {
        "operation": args.operation,
        "result": str(value),
        "decimal": _decimal(value),
        **extra,
    }


TOOLS: tuple[Tool[Any], ...] = (
    Tool(
        "exact_probability",
        "Exact combinatorics and probability as fractions: combinations, permutations, "
        "factorial, binomial and hypergeometric probabilities (exactly, at most, at least "
        "k), expected value and variance of a discrete distribution. Sizes are cost-limited.",
        ProbabilityArgs,
        exact_probability,
        returns={
            "operation": (str, ...),
            "result": (str, ...),
            "decimal": (str, ...),
            "variance": (str | None, None),
            "variance_decimal": (str | None, None),
        },
    ),
)

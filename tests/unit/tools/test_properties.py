"""Property tests: calculate agrees with exact rational arithmetic, Base64 and Roman
numerals round-trip, gcd and lcm satisfy their identities, date spans add back up."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.tools.helpers import call

small_ints = st.integers(min_value=-(10**6), max_value=10**6)


@st.composite
def expressions(draw: st.DrawFn, depth: int = 3) -> tuple[str, Fraction]:
    """An arithmetic expression and its exact value, built side by side."""
    if depth == 0 or draw(st.booleans()):
        n = draw(small_ints)
        return (f"({n})", Fraction(n))
    left_text, left = draw(expressions(depth - 1))
    right_text, right = draw(expressions(depth - 1))
    op = draw(st.sampled_from(["+", "-", "*", "/"]))
    if op == "/" and right == 0:
        op = "*"
    operations = {
        "+": lambda: left + right,
        "-": lambda: left - right,
        "*": lambda: left * right,
        "/": lambda: left / right,
    }
    value = operations[op]()
    return (f"({left_text} {op} {right_text})", value)


@given(expressions())
def test_calculate_matches_exact_arithmetic(case: tuple[str, Fraction]) -> None:
    text, value = case
    result = call("calculate", expression=text)
    if value.denominator == 1:
        assert result["result"] == value.numerator
    else:
        assert result["result"] == float(value)
        if "exact" in result:
            assert Fraction(result["exact"]) == value


@given(st.integers(min_value=-(10**9), max_value=10**9), st.integers(min_value=0, max_value=20))
def test_calculate_integer_powers(base: int, exponent: int) -> None:
    assert call("calculate", expression=f"({base}) ** {exponent}")["result"] == base**exponent


@given(st.text(max_size=500), st.booleans())
def test_base64_round_trip(text: str, url_safe: bool) -> None:
    encoded = call("base64_codec", text=text, url_safe=url_safe)["result"]
    decoded = call("base64_codec", text=encoded, mode="decode", url_safe=url_safe)["result"]
    assert decoded == text


@given(st.integers(min_value=1, max_value=3999))
def test_roman_round_trip(number: int) -> None:
    numeral = call("roman_numeral", number=number)["numeral"]
    assert call("roman_numeral", numeral=numeral)["number"] == number


positive = st.integers(min_value=1, max_value=10**12)


@given(positive, positive)
def test_gcd_times_lcm_is_the_product(a: int, b: int) -> None:
    result = call("gcd_lcm", numbers=[a, b])
    assert result["gcd"] * result["lcm"] == a * b
    assert a % result["gcd"] == 0 and b % result["gcd"] == 0
    assert result["lcm"] % a == 0 and result["lcm"] % b == 0


@given(st.lists(positive, min_size=2, max_size=6))
def test_gcd_lcm_of_lists(numbers: list[int]) -> None:
    result = call("gcd_lcm", numbers=numbers)
    assert result["gcd"] == math.gcd(*numbers)
    assert all(result["lcm"] % n == 0 for n in numbers)


@given(st.integers(min_value=2, max_value=10**12))
def test_prime_factors_multiply_back(n: int) -> None:
    factors = call("prime_factorize", n=n)["factors"]
    assert math.prod(factors) == n


dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))


@given(dates, dates)
def test_date_diff_adds_back_up(start: date, end: date) -> None:
    diff = call("date_diff", start=start.isoformat(), end=end.isoformat())
    assert diff["days"] == (end - start).days
    years, _, months, _, days, _ = diff["calendar"].split()
    low, high = sorted((start, end))
    moved = call(
        "date_add", date=low.isoformat(), years=int(years), months=int(months), days=int(days)
    )
    assert moved["result"] == high.isoformat()


@settings(deadline=None)  # values, not timing: the machine is noisy
@given(
    st.fractions(min_value=-(10**6), max_value=10**6, max_denominator=1000),
    st.decimals(min_value=0, max_value=1000, places=2),
)
def test_percent_forms_agree_with_their_definition(base: Fraction, percent: Decimal) -> None:
    share = Fraction(percent) / 100
    number = f"({base.numerator} / {base.denominator})"
    added = call("calculate", expression=f"{number} + {percent}%")
    assert Fraction(added.get("exact", added["result"])) == base + base * share
    of = call("calculate", expression=f"{percent}% of {number}")
    assert Fraction(of.get("exact", of["result"])) == share * base

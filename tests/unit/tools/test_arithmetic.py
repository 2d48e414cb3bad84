"""Known answers: calculate, prime_factorize, gcd_lcm, roman_numeral."""

from __future__ import annotations

import pytest

from tests.unit.tools.helpers import call, fails


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("2 + 3 * 4", 14),
        ("(2 + 3) * 4", 20),
        ("2 ** 10", 1024),
        ("2 ^ 10", 1024),
        ("7 // 2", 3),
        ("-7 % 3", 2),
        ("0.1 + 0.2", 0.3),
        ("10 / 4", 2.5),
        ("sqrt(144)", 12),
        ("factorial(20)", 2432902008176640000),
        ("comb(52, 5)", 2598960),
        ("gcd(84, 36)", 12),
        ("round(2.675, 2)", 2.68),
        ("abs(-3) + min(4, 2) + max(1, 9)", 14),
        ("floor(-2.5) + ceil(2.1)", 0),
        ("2 ** -2", 0.25),
        ("12 \u00d7 3 \u00f7 4 \u2212 1", 8),
    ],
)
def test_calculate_exact_answers(expression: str, expected: float) -> None:
    assert call("calculate", expression=expression)["result"] == expected


def test_calculate_keeps_rationals_exact() -> None:
    result = call("calculate", expression="1/3 + 1/6")
    assert result["exact"] == "1/2"
    assert result["result"] == 0.5


@pytest.mark.parametrize(
    ("expression", "expected"),
    [("sin(pi / 2)", 1.0), ("log(e)", 1.0), ("log10(1000)", 3.0), ("hypot(3, 4)", 5.0)],
)
def test_calculate_float_functions(expression: str, expected: float) -> None:
    assert call("calculate", expression=expression)["result"] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("1 / 0", "division by zero"),
        ("2 +", "not a valid arithmetic expression"),
        ("x + 1", "unknown name 'x'"),
        ("foo(1)", "unknown function 'foo'"),
        ("(1).real", "Attribute is not allowed"),
        ("'a' * 3", "not a real number"),
        ("1 < 2", "Compare is not allowed"),
        ("sqrt(-1)", "math domain error"),
        ("(-8) ** 0.5", "not real"),
        ("factorial(2.5)", "integer arguments"),
        ("10 ** 4000", "exceed"),
        ("1e308 * 10.0 ** 0.5", "not a finite number"),
        ("exp(1000)", "too large"),
    ],
)
def test_calculate_rejects_with_reason(expression: str, message: str) -> None:
    error = fails("calculate", expression=expression)
    assert error.argument == "expression"
    assert message in error.message


def test_prime_factorize() -> None:
    assert call("prime_factorize", n=360)["factors"] == [2, 2, 2, 3, 3, 5]
    assert call("prime_factorize", n=360)["factorization"] == "2^3 * 3^2 * 5"
    big_prime = 1_000_000_007
    assert call("prime_factorize", n=big_prime) | {"n": 0} == {
        "n": 0,
        "factors": [big_prime],
        "factorization": str(big_prime),
        "is_prime": True,
    }
    assert call("prime_factorize", n=999_999_999_999_999_989)["is_prime"] is True


@pytest.mark.parametrize("n", [1, 0, -5, 10**18 + 1])
def test_prime_factorize_range(n: int) -> None:
    assert fails("prime_factorize", n=n).argument == "n"


def test_gcd_lcm() -> None:
    assert call("gcd_lcm", numbers=[12, 18]) == {"numbers": [12, 18], "gcd": 6, "lcm": 36}
    assert call("gcd_lcm", numbers=[4, 6, 10])["lcm"] == 60
    assert call("gcd_lcm", numbers=[0, 5])["gcd"] == 5
    assert fails("gcd_lcm", numbers=[3]).argument == "numbers"
    assert fails("gcd_lcm", numbers=[1, 10**30]).argument == "numbers"


@pytest.mark.parametrize(
    ("number", "numeral"),
    [
        (1, "I"),
        (4, "IV"),
        (9, "IX"),
        (14, "XIV"),
        (40, "XL"),
        (1994, "MCMXCIV"),
        (2024, "MMXXIV"),
        (3999, "MMMCMXCIX"),
    ],
)
def test_roman_both_ways(number: int, numeral: str) -> None:
    assert call("roman_numeral", number=number)["numeral"] == numeral
    assert call("roman_numeral", numeral=numeral.lower())["number"] == number


@pytest.mark.parametrize("numeral", ["IIII", "IC", "MMMM", "VX", "ABC", "XM"])
def test_roman_rejects_malformed(numeral: str) -> None:
    assert fails("roman_numeral", numeral=numeral).argument == "numeral"


@pytest.mark.parametrize("number", [0, 4000, -1])
def test_roman_range(number: int) -> None:
    assert fails("roman_numeral", number=number).argument == "number"


def test_roman_needs_exactly_one_input() -> None:
    assert "exactly one" in fails("roman_numeral").message
    assert "exactly one" in fails("roman_numeral", number=5, numeral="V").message


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("15% of 100", 15),
        ("12.5 % OF 80", 10),
        ("100 + 15%", 115),
        ("100 - 15%", 85),
        ("2340 * 17.5%", 409.5),
        ("200 / 50%", 400),
        ("50%", 0.5),
        ("2 * 3 + 10%", 6.6),
        ("(100 + 15%) * 2", 230),
        ("10 % 3", 1),
        ("10 %3", 1),
        ("7 % (2 + 2)", 3),
    ],
)
def test_percent_forms_people_type(expression: str, expected: float) -> None:
    assert call("calculate", expression=expression)["result"] == expected

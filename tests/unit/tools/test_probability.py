"""exact_probability: exact fractions for known cases, sizes refused by cost before any
work, and identities that hold for every n and k."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.tools.helpers import call, fails


def test_counting() -> None:
    assert call("exact_probability", operation="combinations", n=52, k=5)["result"] == "2598960"
    assert call("exact_probability", operation="permutations", n=10, k=3)["result"] == "720"
    assert call("exact_probability", operation="factorial", n=20)["result"] == str(
        math.factorial(20)
    )
    assert call("exact_probability", operation="combinations", n=5, k=9)["result"] == "0"


def test_binomial_exactly_at_most_and_at_least() -> None:
    base = {"operation": "binomial", "n": 10, "k": 3, "p": "1/2"}
    exactly = call("exact_probability", **base)
    assert (exactly["result"], exactly["decimal"]) == ("15/128", "0.1171875")
    assert call("exact_probability", **base, comparison="at_most")["result"] == "11/64"
    assert call("exact_probability", **base, comparison="at_least")["result"] == "121/128"
    dice = call("exact_probability", operation="binomial", n=4, k=1, p="1/6", comparison="at_least")
    assert dice["result"] == "671/1296"


def test_hypergeometric_poker_aces() -> None:
    args = {"population": 52, "successes": 4, "draws": 5, "k": 1}
    one = call("exact_probability", operation="hypergeometric", **args)
    assert one["result"] == "3243/10829"
    at_least = call("exact_probability", operation="hypergeometric", **args, comparison="at_least")
    assert at_least["result"] == "18472/54145"
    assert at_least["decimal"].startswith("0.34115800166220")


def test_expected_value_of_a_die() -> None:
    die = call(
        "exact_probability",
        operation="expected_value",
        values=["1", "2", "3", "4", "5", "6"],
        probabilities=["1/6"] * 6,
    )
    assert (die["result"], die["decimal"], die["variance"]) == ("7/2", "3.5", "35/12")


@pytest.mark.parametrize(
    ("args", "argument", "code"),
    [
        ({"operation": "binomial", "n": 100_000, "k": 3, "p": "1/3"}, "n", "resource_limit"),
        ({"operation": "combinations", "n": 100_000, "k": 50_000}, "n", "resource_limit"),
        ({"operation": "factorial", "n": 100_000}, "n", "resource_limit"),
        ({"operation": "permutations", "n": 100_000, "k": 90_000}, "n", "resource_limit"),
        (
            {
                "operation": "hypergeometric",
                "population": 90_000,
                "successes": 10,
                "draws": 45_000,
                "k": 1,
            },
            "population",
            "resource_limit",
        ),
        ({"operation": "combinations", "n": 10**9, "k": 2}, "n", "invalid_argument"),
        ({"operation": "binomial", "n": 5, "k": 1, "p": 0.5}, "p", "invalid_argument"),
        ({"operation": "binomial", "n": 5, "k": 1, "p": "3/2"}, "p", "invalid_argument"),
        ({"operation": "binomial", "n": 5, "k": 1, "p": "1e999999"}, "p", "invalid_argument"),
        ({"operation": "binomial", "n": 5, "k": 1, "p": "1/0"}, "p", "invalid_argument"),
        (
            {"operation": "expected_value", "values": ["1", "2"], "probabilities": ["1/2", "1/3"]},
            "probabilities",
            "invalid_argument",
        ),
        (
            {"operation": "hypergeometric", "population": 5, "successes": 6, "draws": 1, "k": 0},
            "population",
            "invalid_argument",
        ),
    ],
)
def test_sizes_and_bad_input_are_refused(args: dict[str, object], argument: str, code: str) -> None:
    error = fails("exact_probability", **args)
    assert (error.argument, error.code) == (argument, code)


@settings(deadline=None)  # values, not timing: the machine is noisy
@given(st.integers(min_value=0, max_value=200), st.integers(min_value=0, max_value=200))
def test_combinations_and_permutations_agree(n: int, k: int) -> None:
    comb = int(call("exact_probability", operation="combinations", n=n, k=k)["result"])
    perm = int(call("exact_probability", operation="permutations", n=n, k=k)["result"])
    assert comb == math.comb(n, k) and perm == comb * math.factorial(k) * (k <= n)


@settings(max_examples=50, deadline=None)
@given(
    st.integers(min_value=1, max_value=60),
    st.fractions(min_value=0, max_value=1, max_denominator=50),
)
def test_binomial_probabilities_sum_to_one(n: int, p: Fraction) -> None:
    total = Fraction(0)
    for k in range(n + 1):
        total += Fraction(
            call("exact_probability", operation="binomial", n=n, k=k, p=str(p))["result"]
        )
    assert total == 1
    below = Fraction(
        call(
            "exact_probability", operation="binomial", n=n, k=n // 2, p=str(p), comparison="at_most"
        )["result"]
    )
    above = Fraction(
        call(
            "exact_probability",
            operation="binomial",
            n=n,
            k=n // 2 + 1,
            p=str(p),
            comparison="at_least",
        )["result"]
    )
    assert below + above == 1

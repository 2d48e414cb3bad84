"""decimal_finance: exact known answers, every rounding mode, floats refused, and an
amortisation schedule that always pays back exactly the principal."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.tools.helpers import call, fails


def test_sum_is_exact_where_floats_are_not() -> None:
    result = call("decimal_finance", operation="sum", amounts=["0.10", "0.20", "-0.05"])
    assert (result["result"], result["count"]) == ("0.25", 3)


@pytest.mark.parametrize(
    ("rounding", "expected"),
    [
        ("half_even", "2.34"),
        ("half_up", "2.35"),
        ("half_down", "2.34"),
        ("down", "2.34"),
        ("up", "2.35"),
        ("ceiling", "2.35"),
        ("floor", "2.34"),
    ],
)
def test_rounding_modes_on_a_tie(rounding: str, expected: str) -> None:
    result = call(
        "decimal_finance", operation="percent", amount="4.69", rate="50", rounding=rounding
    )
    assert result["result"] == expected


def test_rounding_of_a_negative_amount_and_zero_scale() -> None:
    args = {"operation": "sum", "amounts": ["-2.5"], "scale": 0}
    assert call("decimal_finance", **args)["result"] == "-2"
    assert call("decimal_finance", **args, rounding="floor")["result"] == "-3"
    assert call("decimal_finance", **args, rounding="half_up")["result"] == "-3"


def test_vat_added_and_removed() -> None:
    added = call("decimal_finance", operation="add_vat", amount="100", rate="19")
    assert (added["net"], added["vat"], added["gross"]) == ("100.00", "19.00", "119.00")
    removed = call("decimal_finance", operation="remove_vat", amount="119.00", rate="19")
    assert (removed["result"], removed["vat"]) == ("100.00", "19.00")
    odd = call("decimal_finance", operation="remove_vat", amount="10.00", rate="7")
    assert Decimal(odd["net"]) + Decimal(odd["vat"]) == Decimal("10.00")
    assert odd["net"] == "9.35"


def test_simple_and_compound_interest() -> None:
    simple = call(
        "decimal_finance", operation="simple_interest", amount="1000", rate="5", periods=3
    )
    assert (simple["interest"], simple["total"]) == ("150.00", "1150.00")
    compound = {"operation": "compound_interest", "amount": "1000", "rate": "5", "periods": 3}
    # 1000 * 1.05**3 = 1157.625 exactly: the tie goes to the even cent unless told otherwise.
    even = call("decimal_finance", **compound)
    assert (even["interest"], even["total"]) == ("157.62", "1157.62")
    assert call("decimal_finance", **compound, rounding="half_up")["total"] == "1157.63"


def test_annuity_payment_of_a_known_loan() -> None:
    # 200,000 at 0.5 % a month over 30 years: the textbook 1,199.10 a month.
    loan = call("decimal_finance", operation="annuity", amount="200000", rate="0.5", periods=360)
    assert loan["payment"] == "1199.10"
    assert loan["total_paid"] == "431676.00"


def test_zero_rate_loan_and_its_schedule() -> None:
    loan = call("decimal_finance", operation="amortization", amount="100", rate="0", periods=3)
    assert loan["payment"] == "33.33"
    assert [row["payment"] for row in loan["schedule"]] == ["33.33", "33.33", "33.34"]
    assert loan["schedule"][-1]["balance"] == "0.00"


@pytest.mark.parametrize(
    ("args", "argument"),
    [
        ({"operation": "sum", "amounts": [0.1, 0.2]}, "amounts"),
        ({"operation": "percent", "amount": "1e999999", "rate": "1"}, "amount"),
        ({"operation": "percent", "amount": "1" * 30, "rate": "1"}, "amount"),
        ({"operation": "percent", "amount": "12"}, "rate"),
        ({"operation": "annuity", "amount": "100", "rate": "1"}, "periods"),
        ({"operation": "annuity", "amount": "-100", "rate": "1", "periods": 2}, "amount"),
        ({"operation": "amortization", "amount": "1", "rate": "1", "periods": 601}, "periods"),
        (
            {"operation": "compound_interest", "amount": "1", "rate": "900000", "periods": 1200},
            "rate",
        ),
        ({"operation": "remove_vat", "amount": "1", "rate": "-100"}, "rate"),
        ({"operation": "sum", "amounts": ["1"], "rounding": "bankers"}, "rounding"),
    ],
)
def test_bad_money_is_refused_naming_the_argument(args: dict[str, object], argument: str) -> None:
    assert fails("decimal_finance", **args).argument == argument


money = st.decimals(min_value=1, max_value=10**7, places=2)


@settings(max_examples=60, deadline=None)  # values, not timing: the machine is noisy
@given(
    money,
    st.decimals(min_value=0, max_value=5, places=3),
    st.integers(min_value=1, max_value=120),
    st.sampled_from(["half_even", "half_up", "down", "up"]),
)
def test_amortisation_repays_exactly_the_principal(
    principal: Decimal, rate: Decimal, periods: int, rounding: str
) -> None:
    loan = call(
        "decimal_finance",
        operation="amortization",
        amount=str(principal),
        rate=str(rate),
        periods=periods,
        rounding=rounding,
    )
    rows = loan["schedule"]
    assert len(rows) == periods
    assert sum(Decimal(row["principal"]) for row in rows) == principal
    assert rows[-1]["balance"] == "0.00"
    paid = sum(Decimal(row["payment"]) for row in rows)
    assert paid == Decimal(loan["total_paid"])
    assert paid - principal == Decimal(loan["total_interest"])
    for row in rows:
        assert Decimal(row["payment"]) == Decimal(row["interest"]) + Decimal(row["principal"])


@settings(deadline=None)
@given(st.lists(money, min_size=1, max_size=20))
def test_sum_matches_decimal_arithmetic(amounts: list[Decimal]) -> None:
    result = call("decimal_finance", operation="sum", amounts=[str(a) for a in amounts])
    assert Decimal(result["result"]) == sum(amounts)

"""Known answers: date_diff, date_add, day_of_week (leap years, month ends, ISO weeks)."""

from __future__ import annotations

import pytest

from tests.unit.tools.helpers import call, fails


@pytest.mark.parametrize(
    ("start", "end", "days", "calendar"),
    [
        ("2024-01-01", "2025-01-01", 366, "1 years 0 months 0 days"),  # leap year
        ("2023-01-01", "2024-01-01", 365, "1 years 0 months 0 days"),
        ("2024-02-28", "2024-03-01", 2, "0 years 0 months 2 days"),
        ("2023-02-28", "2023-03-01", 1, "0 years 0 months 1 days"),
        ("2000-02-28", "2000-03-01", 2, "0 years 0 months 2 days"),  # 2000 was leap
        ("1900-02-28", "1900-03-01", 1, "0 years 0 months 1 days"),  # 1900 was not
        # Consistent with date_add, where Jan 31 + 1 month clamps to Feb 29.
        ("2024-01-31", "2024-02-29", 29, "0 years 1 months 0 days"),
        ("2024-01-30", "2024-02-29", 30, "0 years 1 months 0 days"),
        ("2024-01-31", "2024-02-28", 28, "0 years 0 months 28 days"),
        ("2020-05-15", "2024-08-20", 1558, "4 years 3 months 5 days"),
        # Spring-forward and fall-back days (US and EU 2024) still count as whole days.
        ("2024-03-09", "2024-03-11", 2, "0 years 0 months 2 days"),
        ("2024-10-26", "2024-10-28", 2, "0 years 0 months 2 days"),
    ],
)
def test_date_diff(start: str, end: str, days: int, calendar: str) -> None:
    result = call("date_diff", start=start, end=end)
    assert (result["days"], result["calendar"]) == (days, calendar)


def test_date_diff_backwards_is_negative() -> None:
    result = call("date_diff", start="2024-03-01", end="2024-02-01")
    assert (result["days"], result["direction"]) == (-29, "backward")
    assert result["calendar"] == "0 years 1 months 0 days"


@pytest.mark.parametrize(
    ("args", "expected", "clamped"),
    [
        ({"date": "2024-01-31", "months": 1}, "2024-02-29", True),
        ({"date": "2023-01-31", "months": 1}, "2023-02-28", True),
        ({"date": "2024-02-29", "years": 1}, "2025-02-28", True),
        ({"date": "2024-02-29", "years": 4}, "2028-02-29", False),
        ({"date": "2024-12-31", "days": 1}, "2025-01-01", False),
        ({"date": "2024-03-01", "days": -1}, "2024-02-29", False),
        ({"date": "2024-01-01", "weeks": 52}, "2024-12-30", False),
        ({"date": "2024-03-10", "days": 1}, "2024-03-11", False),
        ({"date": "2024-05-31", "months": -3}, "2024-02-29", True),
    ],
)
def test_date_add(args: dict[str, object], expected: str, clamped: bool) -> None:
    result = call("date_add", **args)
    assert (result["result"], result["clamped_to_month_end"]) == (expected, clamped)


def test_date_add_out_of_range() -> None:
    assert fails("date_add", date="9999-12-31", days=1).argument == "days"
    assert fails("date_add", date="0001-01-01", months=-1).argument == "months"


@pytest.mark.parametrize(
    ("day", "weekday", "iso_week", "iso_year", "day_of_year", "leap"),
    [
        ("2024-02-29", "Thursday", 9, 2024, 60, True),
        ("2024-12-31", "Tuesday", 1, 2025, 366, True),  # ISO week 1 of the next year
        ("2021-01-03", "Sunday", 53, 2020, 3, False),  # ISO week 53 of the previous year
        ("2023-12-31", "Sunday", 52, 2023, 365, False),
        ("2000-01-01", "Saturday", 52, 1999, 1, True),
        ("1970-01-01", "Thursday", 1, 1970, 1, False),
    ],
)
def test_day_of_week(
    day: str, weekday: str, iso_week: int, iso_year: int, day_of_year: int, leap: bool
) -> None:
    result = call("day_of_week", date=day)
    assert (
        result["weekday"],
        result["iso_week"],
        result["iso_year"],
        result["day_of_year"],
        result["is_leap_year"],
    ) == (weekday, iso_week, iso_year, day_of_year, leap)


@pytest.mark.parametrize("bad", ["2023-02-29", "2024-13-01", "yesterday", "", "10000-01-01"])
def test_invalid_dates_name_the_argument(bad: str) -> None:
    assert fails("day_of_week", date=bad).argument == "date"
    assert fails("date_diff", start="2024-01-01", end=bad).argument == "end"


def test_today_keyword() -> None:
    assert call("date_diff", start="today", end="today")["days"] == 0

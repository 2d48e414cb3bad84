"""timezone_convert and time_facts: known conversions, the DST gap and fold, zone names
that are not zones, and a round trip that holds for any time and pair of zones."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.tools.registry import ToolError
from tests.unit.tools.helpers import call, fails

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]


def test_summer_time_on_both_sides() -> None:
    result = call(
        "timezone_convert",
        time="2024-07-01T12:00:00",
        from_zone="Europe/Berlin",
        to_zone="America/New_York",
    )
    assert result["result"] == "2024-07-01T06:00:00"
    assert result["utc"] == "2024-07-01T10:00:00Z"
    assert (result["from"]["utc_offset"], result["from"]["dst"]) == ("+02:00", True)
    assert (result["to"]["abbreviation"], result["to"]["dst"]) == ("EDT", True)


def test_half_hour_zone_in_winter() -> None:
    result = call(
        "timezone_convert", time="2024-01-15T09:00", from_zone="UTC", to_zone="Asia/Kolkata"
    )
    assert (result["result"], result["to"]["utc_offset"]) == ("2024-01-15T14:30:00", "+05:30")
    assert result["to"]["dst"] is False


def test_time_in_the_spring_gap_is_refused_by_name() -> None:
    error = fails(
        "timezone_convert", time="2024-03-31T02:30", from_zone="Europe/Berlin", to_zone="UTC"
    )
    assert error.argument == "time"
    assert "2024-03-31T02:30:00 does not exist in Europe/Berlin" in error.message


def test_time_in_the_autumn_fold_needs_a_choice() -> None:
    args = {"time": "2024-11-03T01:30", "from_zone": "America/New_York", "to_zone": "UTC"}
    error = fails("timezone_convert", **args)
    assert error.argument == "fold" and "happens twice" in error.message
    earlier = call("timezone_convert", **args, fold="earlier")
    later = call("timezone_convert", **args, fold="later")
    assert (earlier["result"], earlier["from"]["abbreviation"]) == ("2024-11-03T05:30:00", "EDT")
    assert (later["result"], later["from"]["abbreviation"]) == ("2024-11-03T06:30:00", "EST")


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/localtime", "Mars/Olympus", "x" * 70])
def test_names_that_are_not_zones(name: str) -> None:
    error = fails("timezone_convert", time="2024-01-01T00:00", from_zone=name, to_zone="UTC")
    assert error.argument == "from_zone"


def test_a_time_with_an_offset_is_refused_for_conversion() -> None:
    error = fails("timezone_convert", time="2024-01-01T00:00+01:00", from_zone="UTC", to_zone="UTC")
    assert error.argument == "time"


def test_time_facts_at_a_year_end_in_tokyo() -> None:
    facts = call("time_facts", time="2024-12-30T10:00:00+00:00", zone="Asia/Tokyo")
    assert facts["local"] == "2024-12-30T19:00:00"
    assert (facts["iso_week"], facts["iso_week_year"]) == (1, 2025)
    assert (facts["day_of_year"], facts["days_left_in_year"]) == (365, 1)
    assert (facts["quarter"], facts["is_leap_year"], facts["weekday"]) == (4, True, "Monday")
    assert facts["unix_time"] == 1735552800


def test_time_facts_of_a_wall_clock_time_and_of_now() -> None:
    facts = call("time_facts", time="2023-03-01T00:00", zone="America/New_York")
    assert (facts["day_of_year"], facts["is_leap_year"], facts["utc_offset"]) == (
        60,
        False,
        "-05:00",
    )
    now = call("time_facts", time="now")
    assert now["zone"] == "UTC" and now["days_left_in_year"] >= 0


# No deadline: the machine is shared and noisy; a property is about values, not time.
@settings(deadline=None)
@given(
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2037, 12, 31)),
    st.sampled_from(ZONES),
    st.sampled_from(ZONES),
)
def test_round_trip_returns_the_same_wall_clock_time(
    moment: datetime, source: str, target: str
) -> None:
    moment = moment.replace(microsecond=0)
    args = {"time": moment.isoformat(), "from_zone": source, "to_zone": target}
    try:
        there = call("timezone_convert", **args, fold="earlier")
    except ToolError as exc:  # the gap: refused, by design, whichever fold is given
        assert "does not exist" in exc.message
        return
    back_args = {"time": there["result"], "from_zone": target, "to_zone": source}
    back = call("timezone_convert", **back_args, fold="earlier")
    if back["utc"] != there["utc"]:  # the target time was the second of a fold
        back = call("timezone_convert", **back_args, fold="later")
    assert back["result"] == moment.isoformat()
    assert back["utc"] == there["utc"]


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("time_facts", {"time": "0001-01-01T00:00:00+00:00", "zone": "America/New_York"}),
        ("time_facts", {"time": "0001-01-01T00:00:00", "zone": "Asia/Tokyo"}),
        ("time_facts", {"time": "9999-12-31T23:59:59", "zone": "America/New_York"}),
        (
            "timezone_convert",
            {"time": "0001-01-01T00:00", "from_zone": "Asia/Tokyo", "to_zone": "UTC"},
        ),
    ],
)
def test_times_at_the_calendar_edges_are_refused(tool: str, args: dict[str, str]) -> None:
    assert fails(tool, **args).argument == "time"

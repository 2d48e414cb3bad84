"""Known answers: statistics_calc and json_query."""

from __future__ import annotations

import json

import pytest

from tests.unit.tools.helpers import call, fails


def test_statistics_all() -> None:
    result = call("statistics_calc", numbers=[2, 4, 4, 4, 5, 5, 7, 9])
    assert result == {
        "mean": 5,
        "median": 4.5,
        "stdev": 2.13808993529940,
        "variance": 4.57142857142857,
        "min": 2,
        "max": 9,
        "sum": 40,
        "count": 8,
        "mode": [4],
    }


def test_statistics_selected_and_multimode() -> None:
    result = call("statistics_calc", numbers=[1, 1, 2, 2, 3], operations=["mode", "median"])
    assert result == {"mode": [1, 2], "median": 2}


def test_statistics_float_sum_is_exact() -> None:
    assert call("statistics_calc", numbers=[0.1] * 10, operations=["sum"])["sum"] == 1


def test_statistics_errors() -> None:
    assert fails("statistics_calc", numbers=[1], operations=["stdev"]).argument == "numbers"
    assert fails("statistics_calc", numbers=[]).argument == "numbers"
    assert fails("statistics_calc", numbers=[1, "x"]).argument == "numbers"
    assert fails("statistics_calc", numbers=[1], operations=["range"]).argument == "operations"


DOC = {"users": [{"name": "Ada", "tags": ["x", "y"]}, {"name": "Bob"}], "a.b": {"c": 1}}


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("users[0].name", "Ada"),
        ("users[-1].name", "Bob"),
        ("users[0].tags[1]", "y"),
        ('["a.b"].c', 1),
        ("$.users[1]", {"name": "Bob"}),
        ("$", DOC),
        ("", DOC),
    ],
)
def test_json_query_paths(path: str, value: object) -> None:
    assert call("json_query", data=json.dumps(DOC), path=path)["value"] == value
    assert call("json_query", data=DOC, path=path)["value"] == value


@pytest.mark.parametrize(
    "path", ["users[5]", "users.name", "nope", "users[0].name.x", "users[", "a..b"]
)
def test_json_query_missing_paths(path: str) -> None:
    assert fails("json_query", data=DOC, path=path).argument == "path"


def test_json_query_invalid_json() -> None:
    error = fails("json_query", data="{'single': quotes}", path="$")
    assert (error.argument, error.message.startswith("not valid JSON")) == ("data", True)

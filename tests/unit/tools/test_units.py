"""Known answers: unit_convert (temperatures, speeds, data sizes, dimension errors)."""

from __future__ import annotations

import pytest

from tests.unit.tools.helpers import call, fails


@pytest.mark.parametrize(
    ("value", "source", "target", "expected"),
    [
        (212, "degF", "degC", 100),
        (32, "°F", "°C", 0),
        (98.6, "fahrenheit", "celsius", 37),
        (-40, "degC", "degF", -40),
        (0, "kelvin", "degC", -273.15),
        (100, "degC", "K", 373.15),
        (36, "km/h", "m/s", 10),
        (1, "mile", "km", 1.609344),
        (1, "lb", "kg", 0.45359237),
        (1, "kWh", "J", 3_600_000),
        (1, "GiB", "MiB", 1024),
        (1, "gallon", "liter", 3.785411784),
        (180, "degree", "radian", 3.14159265358979),
    ],
)
def test_unit_convert(value: float, source: str, target: str, expected: float) -> None:
    assert call("unit_convert", value=value, from_unit=source, to_unit=target)["result"] == expected


def test_unit_convert_text_is_quotable() -> None:
    result = call("unit_convert", value=212, from_unit="degF", to_unit="degC")
    assert result["text"] == "212 degF = 100 degC"


def test_unknown_units_name_their_argument() -> None:
    assert fails("unit_convert", value=1, from_unit="furlongz", to_unit="m").argument == "from_unit"
    assert fails("unit_convert", value=1, from_unit="m", to_unit="parsecz").argument == "to_unit"


def test_different_dimensions() -> None:
    error = fails("unit_convert", value=1, from_unit="meter", to_unit="second")
    assert (error.argument, "different dimensions" in error.message) == ("to_unit", True)


@pytest.mark.parametrize("value", [float("inf"), float("nan"), "ten"])
def test_value_must_be_a_finite_number(value: object) -> None:
    assert fails("unit_convert", value=value, from_unit="m", to_unit="km").argument == "value"

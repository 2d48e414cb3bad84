"""Unit and temperature conversions for unit_convert: "Convert 98 km/h to m/s", "How many
feet are in 3 miles?", "100 degrees Fahrenheit in Celsius". Both units must be ones pint
knows and of the same dimension, so "convert 3 apples to pears" is not routed."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import pint

from services.planner.precision.call import ToolCall
from services.planner.precision.words import NUMBER, clean, digits_for_words, to_number

_TEMPERATURES = {
    "celsius": "degC",
    "centigrade": "degC",
    "°c": "degC",
    "℃": "degC",
    "c": "degC",
    "fahrenheit": "degF",
    "°f": "degF",
    "℉": "degF",
    "f": "degF",
    "kelvin": "kelvin",
    "k": "kelvin",
}
# One to three words ("km/h", "miles per hour", "square feet"); the grammar's own words
# (to, in, is, ...) never count as part of a unit.
_GLUE = r"(?!(?:are|is|in|into|to|as|equals?|make|how)\b)"
_UNIT = rf"[^\W\d][\w°/^*.·²³-]*(?:\s+{_GLUE}(?:per\s+)?[^\W\d][\w/^²³-]*){{0,2}}"
_TO = r"\s+(?:to|in|into|in\s+terms\s+of|as)\s+"
_LEAD = r"(?:(?:convert|change|express|turn)\s+|(?:what\s+is|what's|how\s+much\s+is)\s+)?"
_PATTERNS = [
    # convert 98 km/h to m/s; 5 kg in pounds; what is 100 F in C
    rf"^{_LEAD}(?P<value>{NUMBER})\s*(?P<source>{_UNIT}){_TO}(?P<target>{_UNIT})$",
    # how many feet are in 3 miles; how many ounces is 2 kg
    rf"^how\s+many\s+(?P<target>{_UNIT})\s+(?:are\s+)?(?:in|is|are|make|equals?)\s+"
    rf"(?:a\s+|an\s+)?(?P<value>{NUMBER})?\s*(?P<source>{_UNIT})$",
    # 3 miles is how many feet
    rf"^(?P<value>{NUMBER})\s*(?P<source>{_UNIT})\s+(?:is|are|equals?)\s+how\s+many\s+(?P<target>{_UNIT})$",
]


@cache
def _registry() -> pint.UnitRegistry[Any]:
    return pint.UnitRegistry()


def pint_unit(phrase: str) -> str | None:
    """The pint spelling of a unit phrase ("degrees Fahrenheit" -> "degF"), or None."""
    text = re.sub(r"^(?:degrees?\s+)(?=[cfk]|cel|fah|kel|cent)", "", phrase.strip(), flags=re.I)
    if text.lower() in _TEMPERATURES:
        return _TEMPERATURES[text.lower()]
    for spelling in (text.replace(" ", "_"), text):
        try:
            _registry().parse_units(spelling)
        except (pint.errors.PintError, ValueError, TypeError, AttributeError, SyntaxError):
            continue
        return spelling
    return None


def _convertible(source: str, target: str) -> bool:
    units = _registry()
    try:
        return bool(
            units.parse_units(source).dimensionality == units.parse_units(target).dimensionality
        )
    except (pint.errors.PintError, ValueError, TypeError, AttributeError, SyntaxError):
        return False


def recognise(question: str) -> ToolCall | None:
    text = clean(digits_for_words(question))
    for pattern in _PATTERNS:
        found = re.match(pattern, text, re.IGNORECASE)
        if found is None:
            continue
        source, target = pint_unit(found.group("source")), pint_unit(found.group("target"))
        if source is None or target is None or not _convertible(source, target):
            continue
        value = to_number(found.group("value") or "1")
        args = {"value": value, "from_unit": source, "to_unit": target}
        return ToolCall("unit_convert", args, "units")
    return None

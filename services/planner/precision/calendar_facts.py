"""Calendar facts: leap years, ISO week, day of year, quarter, Unix time and days left in
the year for time_facts ("Is 2028 a leap year?", "What ISO week is 2026-03-15 in?",
"Unix timestamp of 2024-01-01 12:00 in Berlin"); and the length of a month or a year for
date_diff ("How many days are in February 2100?"), which time_facts does not answer."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from functools import cache

from services.planner.precision.call import ToolCall
from services.planner.precision.dates import DATE, MONTH, MONTH_NUMBER, iso
from services.planner.precision.words import (
    COMMON_FILLER,
    clean,
    digits_for_words,
    only_filler,
    vocabulary,
)
from services.planner.precision.zone_names import iana_zone, without_accents, zone_pattern
from services.planner.precision.zones import TIME, clock

# What each question asks, by its words; the tool answers all of them at once.
_FACTS = (
    r"leap\s+years?|leap",
    # Not "the day of the week": day_of_week answers that.
    r"(?:iso\s+)?(?:calendar\s+)?(?<!of\sthe\s)week(?:\s+(?:number|of\s+the\s+year))?",
    r"day\s+(?:number\s+)?of\s+the\s+year|(?:ordinal|julian)\s+day|day\s+number",
    r"quarter(?:\s+of\s+the\s+year)?",
    r"unix\s+(?:time(?:stamp)?|epoch)|epoch\s+(?:time|seconds)|posix\s+time|timestamp",
    r"days\s+(?:are\s+)?(?:left|remaining|remain)\s+in\s+(?:the|that|this)\s+year",
)
_FACT = re.compile("|".join(rf"\b(?:{fact})\b" for fact in _FACTS), re.IGNORECASE)
_FILLER = COMMON_FILLER + vocabulary(
    "is was will be a an in on of at which what number does do did fall falls fell date day "
    "year the how many there are left after as for from time zone"
)
_YEAR = r"(?<![\d-])(?P<year>\d{1,4})(?![\d-])"
_LEAP_FILLER = vocabulary("is was will be a an the year if whether or not tell me check")


@cache
def _zone_after_in() -> re.Pattern[str]:
    return re.compile(rf"\b(?:in|at)\s+(?P<zone>{zone_pattern()})(?:\s+time)?", re.IGNORECASE)


def _leap_year(text: str) -> ToolCall | None:
    years = list(re.finditer(_YEAR, text))
    if not re.search(r"\bleap\b", text, re.IGNORECASE) or len(years) != 1:
        return None
    rest = re.sub(r"\bleap\b", " ", _cut(text, years[0]), flags=re.IGNORECASE)
    year = int(years[0].group("year"))
    if not 1 <= year <= 9999 or not only_filler(rest, _LEAP_FILLER):
        return None
    return ToolCall("time_facts", {"time": f"{year:04d}-01-01T00:00:00"}, "dates")


def _cut(text: str, found: re.Match[str] | None) -> str:
    return text if found is None else text[: found.start()] + " " + text[found.end() :]


def _facts_of_a_date(text: str) -> ToolCall | None:
    if _FACT.search(text) is None:
        return None
    dates = list(re.finditer(DATE, text, re.IGNORECASE))
    day = iso(dates[0].group(0)) if len(dates) == 1 else None
    if day is None or dates[0].group(0).lower() == "now":
        return None
    rest = _cut(text, dates[0])
    time_of_day = TIME.search(rest)
    rest = _cut(rest, time_of_day)
    zone = _zone_after_in().search(rest)
    rest = _cut(rest, zone)
    if not only_filler(_FACT.sub(" ", rest), _FILLER):
        return None
    wall_clock = clock(time_of_day) if time_of_day else "00:00:00"
    where = iana_zone(zone.group("zone")) if zone else "UTC"
    if wall_clock is None or where is None:
        return None
    if day == "today":
        day = datetime.now(UTC).date().isoformat()
    return ToolCall("time_facts", {"time": f"{day}T{wall_clock}", "zone": where}, "dates")


_LENGTH = re.compile(
    r"(?:how\s+many|the\s+number\s+of|number\s+of)\s+days\s+(?:are\s+)?(?:there\s+)?"
    r"(?:in|does|did|will)\s+(?:the\s+(?:month|year)\s+(?:of\s+)?)?"
    rf"(?:(?P<month>{MONTH})\.?\s+(?:of\s+)?)?{_YEAR}(?:\s+(?:have|has|had))?",
    re.IGNORECASE,
)


def _days_in(text: str) -> ToolCall | None:
    """The length of a month or year, as the days from its first day to the next's."""
    found = _LENGTH.fullmatch(text)
    if found is None or not 1 <= int(found.group("year")) <= 9998:
        return None
    year = int(found.group("year"))
    if found.group("month"):
        month = MONTH_NUMBER[found.group("month").lower()]
        start, end = date(year, month, 1), date(year + month // 12, month % 12 + 1, 1)
    else:
        start, end = date(year, 1, 1), date(year + 1, 1, 1)
    args = {"start": start.isoformat(), "end": end.isoformat()}
    return ToolCall("date_diff", args, "dates")


def recognise(question: str) -> ToolCall | None:
    text = without_accents(clean(digits_for_words(question)))
    text = re.sub(r"(\d{4}-\d{1,2}-\d{1,2})T(?=\d)", r"\1 ", text)  # ISO date-times
    for grammar in (_leap_year, _days_in, _facts_of_a_date):
        call = grammar(text)
        if call is not None:
            return call
    return None

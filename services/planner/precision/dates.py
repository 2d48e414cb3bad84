"""Calendar questions for date_diff, date_add and day_of_week: dates written as ISO
(1997-08-07), "August 7, 1997", "7 Aug 1997", or today/tomorrow/yesterday."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from services.planner.precision.call import ToolCall
from services.planner.precision.words import (
    COMMON_FILLER,
    clean,
    digits_for_words,
    only_filler,
    vocabulary,
)

_MONTHS = [
    "january february march april may june july august september october november december",
    "jan feb mar apr may jun jul aug sep oct nov dec",
]
MONTH_NUMBER = {name: i % 12 + 1 for i, name in enumerate(" ".join(_MONTHS).split())}
MONTH_NUMBER["sept"] = 9
MONTH = "|".join(sorted(MONTH_NUMBER, key=len, reverse=True))
_ORDINAL = r"(?:st|nd|rd|th)?"
DATE = (
    r"(?:\d{4}-\d{1,2}-\d{1,2}"
    rf"|(?:{MONTH})\.?\s+\d{{1,2}}{_ORDINAL},?\s+\d{{1,4}}"
    rf"|\d{{1,2}}{_ORDINAL}\s+(?:of\s+)?(?:{MONTH})\.?,?\s+\d{{1,4}}"
    r"|today|tomorrow|yesterday|now)"
)
_UNITS = {"day": "days", "week": "weeks", "month": "months", "year": "years"}
_AMOUNT = r"(\d+)\s+(days?|weeks?|months?|years?)"
_AMOUNTS = rf"{_AMOUNT}(?:(?:\s*,\s*|\s+and\s+|\s+){_AMOUNT})*"


def iso(text: str) -> str | None:
    """A written date as YYYY-MM-DD ('today' stays a word: the tool resolves it), or None
    if it is no calendar date."""
    word = text.lower().strip()
    today = datetime.now(UTC).date()
    if word in ("today", "now"):
        return "today"
    if word in ("tomorrow", "yesterday"):
        day = today + timedelta(days=1 if word == "tomorrow" else -1)
        return day.isoformat()
    numbers = [int(n) for n in re.findall(r"\d+", word)]
    month_name = re.search(MONTH, word)
    try:
        if month_name is None:
            year, month, day_ = numbers
        else:
            month = MONTH_NUMBER[month_name.group(0)]
            day_, year = numbers  # "Aug 7, 1997" and "7 Aug 1997" alike
        parsed = date(year, month, day_)
    except ValueError:
        return None
    return f"{parsed.year:04d}-{parsed.month:02d}-{parsed.day:02d}"


def _amounts(text: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for count, unit in re.findall(_AMOUNT, text, re.IGNORECASE):
        key = _UNITS[unit.lower().rstrip("s")]
        found[key] = found.get(key, 0) + int(count)
    return found


_DIFF_FILLER = COMMON_FILLER + vocabulary(
    "how many days weeks months years there between from and to until till since "
    "number difference time elapsed passed left remain remaining have has gone by go "
    "ago long in total count"
)
_WEEKDAY_FILLER = COMMON_FILLER + vocabulary(
    "which day of week weekday fall falls fell on did does"
)
_ADD_FILLER = COMMON_FILLER + vocabulary("date day which from now it will that")


def _dates(text: str) -> list[tuple[str, re.Match[str]]]:
    spans = [(iso(m.group(0)), m) for m in re.finditer(DATE, text, re.IGNORECASE)]
    return [(value, m) for value, m in spans if value is not None]


def _without(text: str, matches: list[re.Match[str]]) -> str:
    for m in sorted(matches, key=lambda m: m.start(), reverse=True):
        text = text[: m.start()] + " " + text[m.end() :]
    return text


def _date_add(text: str) -> ToolCall | None:
    pattern = (
        rf"(?:(?P<verb>add|subtract)\s+)?(?P<amounts>{_AMOUNTS})\s+"
        rf"(?P<dir>after|from|before|since|later\s+than|earlier\s+than|to|ago)\b(?:\s+(?P<date>{DATE}))?"
    )
    found = re.search(pattern, text, re.IGNORECASE)
    shifted = re.search(
        rf"(?P<date>{DATE})\s*(?P<sign>plus|minus|\+|-)\s*(?P<amounts>{_AMOUNTS})", text, re.I
    )
    if shifted is not None:
        found, back = shifted, shifted.group("sign").lower() in ("minus", "-")
    elif found is not None:
        direction = found.group("dir").lower()
        back = direction in ("before", "ago", "earlier than") or found.group("verb") == "subtract"
        if direction == "ago" and found.group("date"):
            return None
    else:
        in_days = re.search(rf"\bin\s+(?P<amounts>{_AMOUNTS})", text, re.IGNORECASE)
        if in_days is None:
            return None
        found, back = in_days, False
    start = iso(found.groupdict().get("date") or "today")
    if start is None or not only_filler(_without(text, [found]), _ADD_FILLER):
        return None
    args: dict[str, object] = {"date": start}
    for unit, count in _amounts(found.group("amounts")).items():
        args[unit] = -count if back else count
    return ToolCall("date_add", args, "dates")


def recognise(question: str) -> ToolCall | None:
    text = clean(digits_for_words(question))
    dates = _dates(text)
    lowered = text.lower()
    asks_weekday = re.search(r"\b(?:week\s*day|day\s+of\s+the\s+week|what\s+day)\b", lowered)
    single = dates[0] if len(dates) == 1 else None
    if asks_weekday and single and only_filler(_without(text, [single[1]]), _WEEKDAY_FILLER):
        return ToolCall("day_of_week", {"date": single[0]}, "dates")
    if re.search(rf"\b{_AMOUNT}", lowered) or re.search(r"\b(?:plus|minus)\b", lowered):
        added = _date_add(text)
        if added is not None:
            return added
    if re.search(r"\b(?:how\s+many|how\s+long|difference|between|since|until|till)\b", lowered):
        rest = _without(text, [m for _, m in dates])
        if not only_filler(rest, _DIFF_FILLER):
            return None
        if len(dates) == 2:
            return ToolCall("date_diff", {"start": dates[0][0], "end": dates[1][0]}, "dates")
        if len(dates) == 1 and re.search(r"\b(?:since|ago)\b", lowered):
            return ToolCall("date_diff", {"start": dates[0][0], "end": "today"}, "dates")
        if len(dates) == 1 and re.search(r"\b(?:until|till|to)\b", lowered):
            return ToolCall("date_diff", {"start": "today", "end": dates[0][0]}, "dates")
    return None

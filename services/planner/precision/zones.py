"""Time zone conversions for timezone_convert: "Convert 9am New York time to London time",
"What time is it in Tokyo when it is 14:30 in Berlin?", "3:15 pm UTC in
America/Los_Angeles", "2024-03-31 02:30 from Europe/Berlin to UTC". One clock time, at
most one date (today's when none is given: the offsets depend on it) and two zones; the
zone the clock time is given in is the one it is converted from."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import cache

from services.planner.precision.call import ToolCall
from services.planner.precision.dates import DATE, iso
from services.planner.precision.words import (
    clean,
    digits_for_words,
    only_filler,
    vocabulary,
)
from services.planner.precision.zone_names import iana_zone, without_accents, zone_pattern

TIME = re.compile(
    r"\b(?:(?P<h12>\d{1,2})(?::(?P<m12>\d{2}))?\s*(?P<half>[ap])\.?\s?m\b\.?"
    r"|(?P<h24>\d{1,2}):(?P<m24>\d{2})(?::(?P<s24>\d{2}))?"
    r"|(?P<word>noon|midday|midnight))",
    re.IGNORECASE,
)
_FILLER = vocabulary(
    "what whats is it its s the time times when if in at to into from convert change "
    "local clock clocks on same moment will be would equal equals equivalent correspond "
    "corresponds zone timezone then there please tell me"
)
# Which zone the clock time is given in, most explicit first: "9am New York time", "Berlin
# time 14:30", then the zone right after the time ("14:30 in Berlin", "3pm on 2025-03-05
# from UTC"), then right before it ("New York 9am").
_SOURCE = tuple(
    re.compile(pattern)
    for pattern in (
        r"<T>(?:\s+(?:on\s+)?<D>)?\s+(?:in\s+)?<Z(?P<z>\d)>\s+time\b",
        r"<Z(?P<z>\d)>\s+time\s*,?\s*(?:at\s+)?<T>",
        r"<T>(?:\s+(?:on\s+)?<D>)?\s*,?\s*(?:(?:in|at|from)\s+)?<Z(?P<z>\d)>",
        r"<Z(?P<z>\d)>\s*,?\s*(?:at\s+)?<T>",
    )
)


@cache
def _zones() -> re.Pattern[str]:
    return re.compile(zone_pattern(), re.IGNORECASE)


def clock(found: re.Match[str]) -> str | None:
    """A matched clock time as HH:MM:SS, or None when it is no time of day."""
    if found.group("word"):
        return "00:00:00" if found.group("word").lower() == "midnight" else "12:00:00"
    if found.group("h12"):
        hour, minute = int(found.group("h12")), int(found.group("m12") or 0)
        if not 1 <= hour <= 12 or minute > 59:
            return None
        hour = hour % 12 + (12 if found.group("half").lower() == "p" else 0)
        return f"{hour:02d}:{minute:02d}:00"
    hour, minute = int(found.group("h24")), int(found.group("m24"))
    second = int(found.group("s24") or 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    return f"{hour:02d}:{minute:02d}:{second:02d}"


def _day(written: str | None) -> str | None:
    """The date of the conversion: the one written, else today's (UTC)."""
    day = iso(written) if written else "today"
    return datetime.now(UTC).date().isoformat() if day == "today" else day


def _skeleton(text: str, spans: list[tuple[int, int, str]]) -> str:
    """`text` with each span replaced by its placeholder (<T>, <D>, <Z0>, <Z1>)."""
    for start, end, mark in sorted(spans, reverse=True):
        text = f"{text[:start]} {mark} {text[end:]}"
    return " ".join(text.split())


def recognise(question: str) -> ToolCall | None:
    text = digits_for_words(question)
    if TIME.search(text) is None:  # most questions: no clock time
        return None
    text = without_accents(clean(text))
    text = re.sub(r"(\d{4}-\d{1,2}-\d{1,2})T(?=\d)", r"\1 ", text)  # ISO date-times
    times = list(TIME.finditer(text))
    dates = list(re.finditer(DATE, text, re.IGNORECASE))
    if len(times) != 1 or len(dates) > 1:
        return None
    zones = [z for z in _zones().finditer(text) if not _overlaps(z, [*times, *dates])]
    if len(zones) != 2:
        return None
    spans = [(times[0].start(), times[0].end(), "<T>")]
    spans += [(d.start(), d.end(), "<D>") for d in dates]
    spans += [(z.start(), z.end(), f"<Z{i}>") for i, z in enumerate(zones)]
    skeleton = _skeleton(text, spans)
    source = next((m for m in (p.search(skeleton) for p in _SOURCE) if m is not None), None)
    if source is None or not only_filler(re.sub(r"<\w+>", " ", skeleton), _FILLER):
        return None
    first = int(source.group("z"))
    from_zone, to_zone = (iana_zone(zones[i].group(0)) for i in (first, 1 - first))
    time_of_day = clock(times[0])
    day = _day(dates[0].group(0) if dates else None)
    if None in (from_zone, to_zone, time_of_day, day):
        return None
    args = {"time": f"{day}T{time_of_day}", "from_zone": from_zone, "to_zone": to_zone}
    return ToolCall("timezone_convert", args, "dates")


def _overlaps(found: re.Match[str], others: list[re.Match[str]]) -> bool:
    return any(found.start() < o.end() and o.start() < found.end() for o in others)

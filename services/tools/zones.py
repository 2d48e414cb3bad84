"""Wall-clock tools: timezone_convert and time_facts. Zones come from the pinned `tzdata`
package only (never the host's /usr/share/zoneinfo), so every machine gives the same
answer; a local time that does not exist (DST gap) is an error naming it, and one that
exists twice (DST fold) must be disambiguated by the caller."""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from importlib import resources
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from services.tools.registry import Result, Tool, ToolArgs, ToolError

Fold = Literal["earlier", "later"]
_ZONE_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}")
_ZONE_HELP = "IANA time zone, e.g. 'Europe/Berlin', 'America/New_York', 'UTC'."
_FOLD_HELP = (
    "Which of the two wall-clock times to take when the clocks go back and the time "
    "happens twice: 'earlier' (still daylight time) or 'later'. Required only then."
)


@lru_cache(maxsize=64)
def _zone_from_tzdata(key: str) -> ZoneInfo:
    parts = key.split("/")
    entry = resources.files("tzdata.zoneinfo").joinpath(*parts)
    if not entry.is_file():
        raise FileNotFoundError(key)
    with entry.open("rb") as data:
        return ZoneInfo.from_file(data, key=key)


def zone(key: str, argument: str) -> ZoneInfo:
    """A zone from the pinned tzdata; the key is checked first, so it can name no path."""
    if len(key) > 64 or not _ZONE_KEY.fullmatch(key):
        raise ToolError(f"{key[:64]!r} is not an IANA time zone name", argument)
    try:
        return _zone_from_tzdata(key)
    except (FileNotFoundError, ValueError, OSError):
        raise ToolError(f"unknown time zone {key!r}", argument) from None


def _offset(value: timedelta | None) -> str:
    seconds = int((value or timedelta()).total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    return f"{sign}{hours:02d}:{rest // 60:02d}"


def localise(naive: datetime, where: ZoneInfo, fold: Fold | None, argument: str) -> datetime:
    """`naive` as a wall-clock time in `where`: refused in a DST gap, and in a DST fold
    unless `fold` says which of the two instants is meant."""
    first = naive.replace(tzinfo=where, fold=0)
    second = naive.replace(tzinfo=where, fold=1)
    if first.astimezone(UTC).astimezone(where).replace(tzinfo=None) != naive:
        raise ToolError(
            f"{naive.isoformat()} does not exist in {where.key}: the clocks skip it "
            "(daylight-saving gap)",
            argument,
        )
    if first.utcoffset() != second.utcoffset():
        if fold is None:
            raise ToolError(
                f"{naive.isoformat()} happens twice in {where.key} (daylight-saving fold, "
                f"offsets {_offset(first.utcoffset())} and {_offset(second.utcoffset())}): "
                "say fold='earlier' or fold='later'",
                "fold",
            )
        return second if fold == "later" else first
    return first


def describe(moment: datetime) -> dict[str, Any]:
    return {
        "local": moment.replace(tzinfo=None).isoformat(),
        "zone": str(moment.tzinfo),
        "utc_offset": _offset(moment.utcoffset()),
        "abbreviation": moment.tzname() or "",
        "dst": bool(moment.dst()),
    }


def _naive(value: datetime, argument: str) -> datetime:
    if value.tzinfo is not None:
        raise ToolError("give a wall-clock time without an offset; the zone says where", argument)
    return value


class TimezoneConvertArgs(ToolArgs):
    time: datetime = Field(description="Wall-clock time, e.g. '2024-03-31T02:30:00'.")
    from_zone: str = Field(max_length=64, description=_ZONE_HELP)
    to_zone: str = Field(max_length=64, description=_ZONE_HELP)
    fold: Fold | None = Field(default=None, description=_FOLD_HELP)


def _in_range(compute: Callable[[], Result]) -> Result:
    """A time within hours of year 1 or 9999 can have no UTC equivalent in range."""
    try:
        return compute()
    except OverflowError:
        raise ToolError("the time or its conversion is outside the years 1-9999", "time") from None


def timezone_convert(args: TimezoneConvertArgs) -> Result:
    return _in_range(lambda: _convert(args))


def _convert(args: TimezoneConvertArgs) -> Result:
    source_zone, target_zone = zone(args.from_zone, "from_zone"), zone(args.to_zone, "to_zone")
    source = localise(_naive(args.time, "time"), source_zone, args.fold, "time")
    target = source.astimezone(target_zone)
    return {
        "from": describe(source),
        "to": describe(target),
        "utc": source.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z",
        "result": target.replace(tzinfo=None).isoformat(),
    }


class TimeFactsArgs(ToolArgs):
    time: datetime | Literal["now"] = Field(
        description="Instant: ISO time with an offset, a wall-clock time in `zone`, or 'now'."
    )
    zone: str = Field(default="UTC", max_length=64, description=_ZONE_HELP)
    fold: Fold | None = Field(default=None, description=_FOLD_HELP)


def time_facts(args: TimeFactsArgs) -> Result:
    return _in_range(lambda: _facts(args))


def _facts(args: TimeFactsArgs) -> Result:
    where = zone(args.zone, "zone")
    if args.time == "now":
        moment = datetime.now(UTC).astimezone(where)
    elif args.time.tzinfo is None:
        moment = localise(args.time, where, args.fold, "time")
    else:
        moment = args.time.astimezone(where)
    iso = moment.isocalendar()
    leap = calendar.isleap(moment.year)
    day_of_year = moment.timetuple().tm_yday
    unix = moment.timestamp()
    return {
        **describe(moment),
        "weekday": calendar.day_name[moment.weekday()],
        "iso_week": iso.week,
        "iso_week_year": iso.year,
        "day_of_year": day_of_year,
        "quarter": (moment.month - 1) // 3 + 1,
        "unix_time": int(unix) if unix.is_integer() else unix,
        "is_leap_year": leap,
        "days_left_in_year": (366 if leap else 365) - day_of_year,
    }


class ZoneSide(BaseModel):
    """One side of a conversion, as `describe` reports it."""

    local: str
    zone: str
    utc_offset: str
    abbreviation: str
    dst: bool


def _zone_fields() -> dict[str, Any]:
    return {name: (info.annotation, ...) for name, info in ZoneSide.model_fields.items()}


TOOLS: tuple[Tool[Any], ...] = (
    Tool(
        "timezone_convert",
        "Convert a wall-clock time from one IANA time zone to another, with each side's UTC "
        "offset and daylight-saving state. Times skipped by a DST change are refused; times "
        "that happen twice need fold='earlier' or 'later'.",
        TimezoneConvertArgs,
        timezone_convert,
        returns={
            "from": (ZoneSide, ...),
            "to": (ZoneSide, ...),
            "utc": (str, ...),
            "result": (str, ...),
        },
        exact=("result",),
    ),
    Tool(
        "time_facts",
        "Facts about an instant in a time zone: ISO week and week-year, day of year, "
        "quarter, Unix time, leap year, days left in the year, UTC offset and DST.",
        TimeFactsArgs,
        time_facts,
        returns={
            **_zone_fields(),
            "weekday": (str, ...),
            "iso_week": (int, ...),
            "iso_week_year": (int, ...),
            "day_of_year": (int, ...),
            "quarter": (int, ...),
            "unix_time": (int | float, ...),
            "is_leap_year": (bool, ...),
            "days_left_in_year": (int, ...),
        },
        exact=("iso_week", "day_of_year", "unix_time", "days_left_in_year"),
    ),
)

"""Calendar tools: date_diff, date_add, day_of_week. They work on calendar dates only (no
clock times, no time zones), so daylight-saving shifts can never change a result."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from services.tools.registry import Result, Tool, ToolArgs, ToolError


def _today_keyword(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() == "today":
        return datetime.now(UTC).date()
    return value


Day = Annotated[date, BeforeValidator(_today_keyword)]
_DATE_HELP = "Calendar date as YYYY-MM-DD (years 1-9999), or 'today' (UTC)."


class DateDiffArgs(ToolArgs):
    start: Day = Field(description=_DATE_HELP)
    end: Day = Field(description=_DATE_HELP)


class DateAddArgs(ToolArgs):
    date: Day = Field(description=_DATE_HELP)
    years: int = Field(default=0, ge=-9999, le=9999, description="Years to add (negative: back).")
    months: int = Field(default=0, ge=-120_000, le=120_000, description="Months to add.")
    weeks: int = Field(default=0, ge=-530_000, le=530_000, description="Weeks to add.")
    days: int = Field(default=0, ge=-3_660_000, le=3_660_000, description="Days to add.")


class DayOfWeekArgs(ToolArgs):
    date: Day = Field(description=_DATE_HELP)


def add_months(day: date, months: int) -> date:
    """Month arithmetic that clamps to the month's last day (Jan 31 + 1 month = Feb 28/29)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise ToolError("result is outside the years 1-9999", "months")
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def _calendar_span(a: date, b: date) -> tuple[int, int, int]:
    months = (b.year - a.year) * 12 + (b.month - a.month)
    if add_months(a, months) > b:
        months -= 1
    days = (b - add_months(a, months)).days
    return months // 12, months % 12, days


def date_diff(args: DateDiffArgs) -> Result:
    start, end = args.start, args.end
    sign = -1 if end < start else 1
    years, months, days = _calendar_span(min(start, end), max(start, end))
    total = (end - start).days
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "days": total,
        "weeks": f"{abs(total) // 7} weeks {abs(total) % 7} days",
        "calendar": f"{years} years {months} months {days} days",
        "direction": "forward" if sign > 0 else "backward",
    }


def date_add(args: DateAddArgs) -> Result:
    moved = add_months(args.date, args.years * 12 + args.months)
    try:
        result = moved + timedelta(weeks=args.weeks, days=args.days)
    except OverflowError:
        raise ToolError("result is outside the years 1-9999", "days") from None
    return {
        "date": args.date.isoformat(),
        "result": result.isoformat(),
        "weekday": calendar.day_name[result.weekday()],
        "clamped_to_month_end": moved.day != args.date.day,
    }


def day_of_week(args: DayOfWeekArgs) -> Result:
    day = args.date
    iso = day.isocalendar()
    leap = calendar.isleap(day.year)
    return {
        "date": day.isoformat(),
        "weekday": calendar.day_name[day.weekday()],
        "iso_weekday": iso.weekday,
        "iso_week": iso.week,
        "iso_year": iso.year,
        "day_of_year": day.timetuple().tm_yday,
        "days_in_year": 366 if leap else 365,
        "is_leap_year": leap,
        "quarter": (day.month - 1) // 3 + 1,
    }


TOOLS: tuple[Tool[Any], ...] = (
    Tool(
        "date_diff",
        "Exact difference between two calendar dates: total days, weeks, and years/months/days.",
        DateDiffArgs,
        date_diff,
        returns={
            "start": (str, ...),
            "end": (str, ...),
            "days": (int, ...),
            "weeks": (str, ...),
            "calendar": (str, ...),
            "direction": (str, ...),
        },
        exact=("days",),
    ),
    Tool(
        "date_add",
        "Add or subtract years, months, weeks and days to a calendar date (month ends clamp: "
        "Jan 31 + 1 month = Feb 28 or 29).",
        DateAddArgs,
        date_add,
        returns={
            "date": (str, ...),
            "result": (str, ...),
            "weekday": (str, ...),
            "clamped_to_month_end": (bool, ...),
        },
        exact=("result",),
    ),
    Tool(
        "day_of_week",
        "Weekday, ISO week number and year, day of year and leap-year status of a date.",
        DayOfWeekArgs,
        day_of_week,
        returns={
            "date": (str, ...),
            "weekday": (str, ...),
            "iso_weekday": (int, ...),
            "iso_week": (int, ...),
            "iso_year": (int, ...),
            "day_of_year": (int, ...),
            "days_in_year": (int, ...),
            "is_leap_year": (bool, ...),
            "quarter": (int, ...),
        },
        exact=("weekday",),
    ),
)

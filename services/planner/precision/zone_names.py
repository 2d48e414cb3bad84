"""Time zones as people name them, resolved to the IANA keys the time tools take: a key
itself ("America/Los_Angeles", "Japan", "UTC"), its city ("Los Angeles", "São Paulo"),
a big city that is no key ("San Francisco"), a US region ("Eastern time") or a whole-hour
UTC offset ("UTC+2"). The keys come from the pinned tzdata package the tools read too."""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from importlib import resources

from services.planner.precision.words import vocabulary

# Keys whose last part is a city; the others (US/Eastern, Etc/GMT+5, ...) are only taken
# when written out whole.
_CITY_REGIONS = frozenset(
    vocabulary("Africa America Antarctica Asia Atlantic Australia Europe Indian Pacific")
)
_ALIASES = {
    "gmt": "UTC",
    "zulu": "UTC",
    "coordinated universal time": "UTC",
    "eastern": "America/New_York",
    "central": "America/Chicago",
    "mountain": "America/Denver",
    "pacific": "America/Los_Angeles",
    "san francisco": "America/Los_Angeles",
    "seattle": "America/Los_Angeles",
    "washington": "America/New_York",
    "washington dc": "America/New_York",
    "boston": "America/New_York",
    "miami": "America/New_York",
    "atlanta": "America/New_York",
    "dallas": "America/Chicago",
    "houston": "America/Chicago",
    "beijing": "Asia/Shanghai",
    "mumbai": "Asia/Kolkata",
    "delhi": "Asia/Kolkata",
    "new delhi": "Asia/Kolkata",
    "bangalore": "Asia/Kolkata",
    "osaka": "Asia/Tokyo",
    "munich": "Europe/Berlin",
    "frankfurt": "Europe/Berlin",
    "hamburg": "Europe/Berlin",
    "milan": "Europe/Rome",
    "barcelona": "Europe/Madrid",
    "geneva": "Europe/Zurich",
    "montreal": "America/Toronto",
    # Countries with one time zone.
    "india": "Asia/Kolkata",
    "china": "Asia/Shanghai",
    "germany": "Europe/Berlin",
    "france": "Europe/Paris",
    "uk": "Europe/London",
    "england": "Europe/London",
    "spain": "Europe/Madrid",
    "italy": "Europe/Rome",
    "netherlands": "Europe/Amsterdam",
    "south korea": "Asia/Seoul",
}
# "UTC+2" is Etc/GMT-2: POSIX signs in the Etc area are the other way round.
_OFFSET = r"(?:utc|gmt)\s*[+\-\u2212]\s*\d{1,2}(?::00)?"
_OFFSET_PARTS = re.compile(
    r"(?:utc|gmt)\s*(?P<sign>[+\-\u2212])\s*(?P<hours>\d{1,2})(?::00)?", re.I
)


def without_accents(text: str) -> str:
    """`text` with accents taken off letters ("São Paulo" -> "Sao Paulo"), as zone names
    are spelled in tzdata."""
    if text.isascii():  # most questions: nothing to take off
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _plain(name: str) -> str:
    """Lower case, without accents, underscores and runs of spaces as one space."""
    return " ".join(without_accents(name).replace("_", " ").lower().split())


@cache
def _names() -> dict[str, str]:
    keys = resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8").split()
    names: dict[str, str] = {}
    for key in keys:
        if key.split("/")[0] in _CITY_REGIONS:
            names.setdefault(_plain(key.split("/")[-1]), key)
    names.update(_ALIASES)
    names.update({_plain(key): key for key in keys})
    return names


@cache
def zone_pattern() -> str:
    """A regex of every zone name and key, longest first, matched as whole words."""
    spellings = set(_names())
    alternatives = "|".join(
        re.escape(name).replace(r"\ ", r"[\s_]+")
        for name in sorted(spellings, key=len, reverse=True)
    )
    return rf"(?<![\w/])(?:{_OFFSET}|{alternatives})(?![\w/])"


def iana_zone(name: str) -> str | None:
    """The IANA key a written zone name stands for, or None."""
    offset = _OFFSET_PARTS.fullmatch(name.strip())
    if offset is not None:
        hours = int(offset.group("hours"))
        if hours == 0:
            return "UTC"
        sign = "-" if offset.group("sign") == "+" else "+"
        return f"Etc/GMT{sign}{hours}" if hours <= (14 if sign == "-" else 12) else None
    return _names().get(_plain(name))

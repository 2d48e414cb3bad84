"""Precision routing: questions the precision tools answer exactly are routed to them
with their arguments filled, deterministically and without a model. One small grammar
per tool family recognises a whole question (or one clause of it); anything it does not
account for word by word is left to the experts."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from functools import lru_cache

from services.planner.precision import (
    arithmetic,
    calendar_facts,
    counting,
    dates,
    documents,
    money,
    numeric,
    text,
    units,
    zones,
)
from services.planner.precision.arithmetic import arithmetic_expression
from services.planner.precision.call import ToolCall, first_call
from services.planner.precision.words import NUMBER_WORDS

__all__ = ["PreciseQuestion", "ToolCall", "arithmetic_expression", "recognise", "split"]

# Text grammars first: their payloads may hold numbers, dates or units of their own.
GRAMMARS: tuple[Callable[[str], ToolCall | None], ...] = (
    documents.recognise,
    text.recognise,
    zones.recognise,
    dates.recognise,
    calendar_facts.recognise,
    money.recognise,
    units.recognise,
    numeric.recognise,
    counting.recognise,
    arithmetic.recognise,
)
# Where a precise clause may end and an open one begin ("... to m/s and explain why").
_JOINS = re.compile(r"\s*(?:[;.!?]\s+|,?\s+(?:and\s+then|and\s+also|and|then|also)\s+|,\s+)")
_MIN_OPEN_WORDS = 2
MAX_LENGTH = 2000
# Every grammar needs one of these: a digit, a number word, a Roman numeral, a relative
# day, or a tool's own word. Most open questions have none and skip the grammars.
_CANDIDATE = re.compile(
    rf"\d|(?i:{NUMBER_WORDS.pattern})|\b[MDCLXVI]{{2,}}\b|(?i:\b(?:today|tomorrow|yesterday|md5|"
    r"sha-?\d*|base\s?-?64|regex|regular\s+expression|e-?mails?|urls?|links|words|"
    r"characters|sentences|hashtags|mentions|ip\s+addresses|noon|midday|midnight|leap|unix|epoch|"
    r"json|yaml|yml|xml|csv|tsv|schema)\b)"
)


def recognise(question: str) -> ToolCall | None:
    """The tool call that answers the whole question, or None."""
    # Today's date is part of the cache key: grammars resolve "tomorrow", or the date of
    # a clock time given without one, against it.
    call = _recognised(question, datetime.now(UTC).date())
    # A copy: the cached call's arguments must never be changed by a caller.
    return None if call is None else replace(call, args=copy.deepcopy(call.args))


@lru_cache(maxsize=4096)
def _recognised(question: str, today: date) -> ToolCall | None:
    if len(question) > MAX_LENGTH or not _CANDIDATE.search(question):
        return None
    return first_call(GRAMMARS, question)


@dataclass(frozen=True)
class PreciseQuestion:
    call: ToolCall
    precise_part: str
    open_part: str | None
    """What is left for an expert when the question mixes a precise and an open part."""


def split(question: str) -> PreciseQuestion | None:
    """A precise question, or a precise clause joined to an open one; else None."""
    whole = recognise(question)
    if whole is not None:
        return PreciseQuestion(whole, question, None)
    if len(question) > MAX_LENGTH:
        return None
    for join in _JOINS.finditer(question):
        first, second = question[: join.start()], question[join.end() :]
        for precise, rest in ((first, second), (second, first)):
            if len(rest.split()) < _MIN_OPEN_WORDS:
                continue
            call = recognise(precise)
            if call is not None and recognise(rest) is None:
                return PreciseQuestion(call, precise.strip(), rest.strip())
    return None


_WARM_UP = (
    "What is 17.5% of 2340 and why?",
    "Which weekday is 1997-08-07, and how many days until 2030-01-01?",
    "Convert 98 km/h to m/s; what is the mean of 3, 5 and 7?",
    "What is the MD5 hash of 'a'? Base64 encode 'b'. What number is XLII?",
    'Count the words in: a b. Get a[0] from {"a": [1]}. Hosts in 10.0.0.0/8?',
    "What time is it in Tokyo when it is 9am in Berlin? What ISO week is 2026-03-15 in?",
    'Add 19% VAT to $100, then: is this valid JSON: {"a": 1}',
)


def warm_up() -> None:
    """Compile every grammar's patterns and load pint's registry (~0.3 s) before the
    first request, not during it. Blocking: run it in a thread."""
    for question in _WARM_UP:
        split(question)
    units.pint_unit("m/s")

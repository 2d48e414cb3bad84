"""Precision routing: questions the precision tools answer exactly are routed to them
with their arguments filled, deterministically and without a model. One small grammar
per tool family recognises a whole question (or one clause of it); anything it does not
account for word by word is left to the experts."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from services.planner.precision import arithmetic, dates, numeric, text, units
from services.planner.precision.arithmetic import arithmetic_expression
from services.planner.precision.call import ToolCall

__all__ = ["PreciseQuestion", "ToolCall", "arithmetic_expression", "recognise", "split"]

# Text grammars first: their payloads may hold numbers, dates or units of their own.
GRAMMARS: tuple[Callable[[str], ToolCall | None], ...] = (
    text.recognise,
    dates.recognise,
    units.recognise,
    numeric.recognise,
    arithmetic.recognise,
)
# Where a precise clause may end and an open one begin ("... to m/s and explain why").
_JOINS = re.compile(r"\s*(?:[;.!?]\s+|,?\s+(?:and\s+then|and\s+also|and|then|also)\s+|,\s+)")
_MIN_OPEN_WORDS = 2
MAX_LENGTH = 2000


def recognise(question: str) -> ToolCall | None:
    """The tool call that answers the whole question, or None."""
    if len(question) > MAX_LENGTH:
        return None
    for grammar in GRAMMARS:
        call = grammar(question)
        if call is not None:
            return call
    return None


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

"""Counting for `exact_probability`: combinations ("52 choose 5", "C(52, 5)", "how many
ways to choose 5 from 52"), permutations ("P(10, 3)", "how many ways to arrange 3 of 10")
and factorials ("20!", "20 factorial", "the factorial of 20"). Exact integers, however
large: a 135M model guesses at these, and calculate's floats round them."""

from __future__ import annotations

import re

from services.planner.precision.call import ToolCall
from services.planner.precision.words import clean, digits_for_words

_ASK = r"(?:(?:what\s+is|what's|compute|calculate|evaluate|find)\s+)?(?:the\s+)?"
_N, _K = r"(?P<n>\d{1,6})", r"(?P<k>\d{1,6})"
_OF = r"(?:from|out\s+of|of|among)"
_THINGS = r"(?:\s+(?:items|things|objects|people|cards|elements|letters|books|balls))?"
_HOW_MANY = (
    r"how\s+many\s+(?:different\s+)?(?:ways|combinations|permutations)\s+(?:are\s+there\s+)?"
)
_K_OF_N = rf"{_K}{_THINGS}\s+{_OF}\s+{_N}{_THINGS}"  # "3 (books) from 10 (books)"

_PATTERNS: tuple[tuple[str, str], ...] = (
    ("combinations", rf"{_ASK}{_N}\s+choose\s+{_K}"),
    ("combinations", rf"{_ASK}(?:c|ncr|binom(?:ial)?)\s*\(\s*{_N}\s*,\s*{_K}\s*\)"),
    ("combinations", rf"{_ASK}(?:number\s+of\s+)?combinations\s+of\s+{_K_OF_N}"),
    ("combinations", rf"{_HOW_MANY}(?:to\s+)?(?:choose|pick|select)\s+{_K_OF_N}"),
    ("permutations", rf"{_ASK}(?:p|npr)\s*\(\s*{_N}\s*,\s*{_K}\s*\)"),
    ("permutations", rf"{_ASK}(?:number\s+of\s+)?permutations\s+of\s+{_K_OF_N}"),
    ("permutations", rf"{_HOW_MANY}(?:to\s+)?(?:arrange|order)\s+{_K_OF_N}"),
    ("factorial", rf"{_ASK}{_N}\s*!"),
    ("factorial", rf"{_ASK}{_N}\s+factorial"),
    ("factorial", rf"{_ASK}factorial\s+of\s+{_N}"),
)
_COMPILED = tuple((op, re.compile(pattern, re.IGNORECASE)) for op, pattern in _PATTERNS)


def recognise(question: str) -> ToolCall | None:
    text = digits_for_words(clean(question))
    # clean() drops a closing "!" with the other punctuation: "20!" needs it kept.
    bang = digits_for_words(question.strip().rstrip("?. ").strip())
    for operation, pattern in _COMPILED:
        found = pattern.fullmatch(text) or pattern.fullmatch(bang)
        if found is None:
            continue
        args: dict[str, object] = {"operation": operation, "n": int(found.group("n"))}
        if "k" in pattern.groupindex:
            args["k"] = int(found.group("k"))
        return ToolCall("exact_probability", args, "probability")
    return None

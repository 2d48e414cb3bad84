"""Shared pieces of the precision grammars: numbers (in digits or words), quoted text,
and the check that a question holds nothing beyond a grammar's slots and filler words."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache


def vocabulary(*phrases: str) -> list[str]:
    """The words of `phrases`, for filler lists kept readable as prose."""
    return " ".join(phrases).split()


# Digits with optional thousands separators ("2,340") and decimals; a list "3, 5, 7" is
# not one number because its commas are followed by a space.
NUMBER = r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[-+]?\.\d+"
INTEGER = r"\d{1,3}(?:,\d{3})+|\d+"

_SMALL = vocabulary(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen"
)
_TENS = vocabulary("twenty thirty forty fifty sixty seventy eighty ninety")
_SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}
_WORD_VALUES = {
    **{w: i for i, w in enumerate(_SMALL)},
    **{w: 20 + 10 * i for i, w in enumerate(_TENS)},
    **_SCALES,
}
_WORD = "|".join(sorted(_WORD_VALUES, key=len, reverse=True))
# "and" joins number words only after a scale word ("one hundred and five"), so that
# "the sum of three and four" stays two numbers.
_AFTER_SCALE = "|".join(f"(?<={s})" for s in _SCALES)
NUMBER_WORDS = re.compile(
    rf"\b(?:{_WORD})(?:(?:[\s-]+|(?:{_AFTER_SCALE})\s+and\s+)(?:{_WORD}))*\b", re.IGNORECASE
)
# Straight, typographic (\u201c \u201d \u2018 \u2019) and back quotes.
_QUOTED = re.compile(
    r"""["'\u201c\u2018`](?P<text>.+?)["'\u201d\u2019`](?=\s|[?.!,:;]|$)""", re.DOTALL
)
_TAIL = re.compile(r"[\s?.!]+$")
_PLEASE = re.compile(r"[\s,]+please$", re.IGNORECASE)
_LEAD = re.compile(
    r"^\s*(?:(?:hey|hi|ok|okay)[,!]?\s+)?(?:please\s+|(?:can|could|would)\s+you\s+(?:please\s+)?)?",
    re.IGNORECASE,
)
_TOKEN = re.compile(r"[a-z]+", re.IGNORECASE)


def words_value(phrase: str) -> int:
    """The integer a phrase of number words names: "one hundred and five" -> 105."""
    total = current = 0
    for word in re.split(r"[\s-]+", phrase.lower()):
        if word == "and":
            continue
        value = _WORD_VALUES[word]
        if word == "hundred":
            current = (current or 1) * 100
        elif word in _SCALES:
            total += (current or 1) * value
            current = 0
        else:
            current += value
    return total + current


@lru_cache(maxsize=1024)
def digits_for_words(text: str) -> str:
    """`text` with its number words written as digits (cached: every grammar asks)."""
    if _WORD_VALUES.keys().isdisjoint(w.lower() for w in _TOKEN.findall(text)):
        return text  # the common case, without the slower number-word pattern
    return NUMBER_WORDS.sub(lambda m: str(words_value(m.group(0))), text)


def to_number(text: str) -> int | float:
    cleaned = text.replace(",", "")
    value = float(cleaned)
    return int(value) if re.fullmatch(r"[-+]?\d+", cleaned) else value


@lru_cache(maxsize=1024)
def clean(question: str) -> str:
    """The question without politeness around it and closing punctuation (cached: most
    grammars ask)."""
    text = _LEAD.sub("", question.strip())
    text = _PLEASE.sub("", _TAIL.sub("", text))
    return _TAIL.sub("", text).strip()


def quoted(text: str) -> tuple[str, str] | None:
    """The first quoted text, and `text` with it cut out."""
    found = _QUOTED.search(text)
    if found is None:
        return None
    return found.group("text"), text[: found.start()] + " " + text[found.end() :]


def only_filler(text: str, filler: Iterable[str]) -> bool:
    """Whether every word left in `text` is filler (and no digits are left over)."""
    allowed = {w.lower() for w in filler}
    if re.search(r"\d", text):
        return False
    return all(word.lower() in allowed for word in _TOKEN.findall(text))


COMMON_FILLER = vocabulary(
    "what whats is are was were will be the a an of for me tell give find show compute "
    "calculate work out get determine please it its s value result exactly answer"
)

"""Number questions beyond arithmetic: statistics of a list, prime factors, gcd/lcm,
Roman numerals both ways, and simple equations."""

from __future__ import annotations

import re

from services.planner.precision.call import ToolCall
from services.planner.precision.words import (
    COMMON_FILLER,
    INTEGER,
    NUMBER,
    clean,
    digits_for_words,
    only_filler,
    to_number,
    vocabulary,
)

_LIST = rf"(?:{NUMBER})(?:\s*(?:,|;|\s)\s*(?:and\s+)?(?:{NUMBER}))+"
_STATISTICS = {
    "mean": r"mean|average|avg",
    "median": r"median",
    "stdev": r"standard\s+deviation|std\.?\s*dev|stdev|sd",
    "variance": r"variance",
    "min": r"min(?:imum)?|smallest|lowest",
    "max": r"max(?:imum)?|largest|highest|biggest",
    "sum": r"sum|total",
    "mode": r"mode",
}
_STATS_FILLER = COMMON_FILLER + vocabulary(
    "and of these numbers list data set dataset values the in sample descriptive "
    "statistics stats summary summarize summarise"
)
_ROMAN = r"M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})"


def _statistics(text: str) -> ToolCall | None:
    numbers = re.search(rf"[\[(]?\s*(?P<list>{_LIST})\s*[\])]?", text)
    if numbers is None:
        return None
    wanted = [op for op, words in _STATISTICS.items() if re.search(rf"\b(?:{words})\b", text, re.I)]
    asks_all = re.search(r"\b(?:statistics|stats|summary|summari[sz]e)\b", text, re.IGNORECASE)
    if not wanted and not asks_all:
        return None
    rest = text[: numbers.start()] + " " + text[numbers.end() :]
    for words in _STATISTICS.values():
        rest = re.sub(rf"\b(?:{words})\b", " ", rest, flags=re.IGNORECASE)
    if not only_filler(rest, _STATS_FILLER):
        return None
    values = [to_number(n) for n in re.findall(NUMBER, numbers.group("list"))]
    args: dict[str, object] = {"numbers": values}
    if wanted and not asks_all:
        args["operations"] = wanted
    return ToolCall("statistics_calc", args, "statistics")


def _factorize(text: str) -> ToolCall | None:
    found = re.fullmatch(
        rf"(?:(?:what\s+(?:is|are)\s+)?(?:the\s+)?(?:prime\s+factori[sz]ation|prime\s+factors|"
        rf"prime\s+decomposition)\s+(?:of|for)\s+|(?:factori[sz]e|factor)\s+)(?P<n>{INTEGER})"
        r"(?:\s+into\s+primes|\s+into\s+prime\s+factors)?",
        text,
        re.IGNORECASE,
    )
    if found is None:
        return None
    return ToolCall("prime_factorize", {"n": int(found.group("n").replace(",", ""))}, "math")


def _gcd_lcm(text: str) -> ToolCall | None:
    found = re.fullmatch(
        r"(?:what\s+(?:is|are)\s+)?(?:the\s+)?(?P<what>gcd|gcf|hcf|lcm|greatest\s+common\s+"
        r"(?:divisor|factor)|highest\s+common\s+factor|least\s+common\s+multiple|lowest\s+common"
        r"\s+multiple)(?:\s+and\s+(?:the\s+)?(?:gcd|lcm))?\s+(?:of|for)\s+(?P<list>.+)",
        text,
        re.IGNORECASE,
    )
    if found is None or not re.fullmatch(
        rf"(?:{INTEGER})(?:\s*(?:,|and|,\s*and)\s*(?:{INTEGER}))+", found.group("list")
    ):
        return None
    numbers = [int(n.replace(",", "")) for n in re.findall(r"\d+", found.group("list"))]
    return ToolCall("gcd_lcm", {"numbers": numbers}, "math")


def _roman(text: str) -> ToolCall | None:
    to_roman = re.fullmatch(
        rf"(?:what\s+is\s+|write\s+|convert\s+|express\s+)?(?P<n>{INTEGER})\s+(?:in|as|to|into)\s+"
        r"(?:a\s+)?roman(?:\s+numerals?)?",
        text,
        re.IGNORECASE,
    )
    if to_roman is not None:
        return ToolCall("roman_numeral", {"number": int(to_roman.group("n"))}, "math")
    from_roman = re.fullmatch(
        rf"(?i:what\s+(?:number\s+)?is\s+(?:the\s+roman\s+numeral\s+)?|convert\s+(?:the\s+roman"
        rf"\s+numeral\s+)?)(?P<r>{_ROMAN})(?i:\s+(?:in|to|into|as)\s+(?:a\s+)?(?:number|decimal|"
        r"arabic(?:\s+numerals?)?|an\s+integer|integer|digits))?",
        text,
    ) or re.fullmatch(
        rf"(?i:what\s+(?:number\s+)?(?:is|does)\s+(?:the\s+)?roman\s+numeral\s+)(?P<r>{_ROMAN})"
        r"(?i:\s+(?:mean|stand\s+for|represent))?",
        text,
    )
    if from_roman is None or not from_roman.group("r"):
        return None
    return ToolCall("roman_numeral", {"numeral": from_roman.group("r")}, "math")


def _equation(text: str) -> ToolCall | None:
    found = re.fullmatch(
        r"(?:solve|find\s+(?P<v1>[a-z])|what\s+is\s+(?P<v2>[a-z]))"
        r"(?:\s+for\s+(?P<v3>[a-z]))?(?:\s+(?:if|when|where|given|in))?\s*:?\s*(?P<eq>.+)",
        text,
        re.IGNORECASE,
    )
    if found is None:
        return None
    equation = found.group("eq").strip()
    # Only maths: one '=' and nothing but numbers, single-letter unknowns and operators.
    if equation.count("=") != 1 or not re.fullmatch(
        r"(?:[\d\s.+\-*/^()=]|\b[a-z]\b|(?<=\d)[a-z]\b)+", equation, re.I
    ):
        return None
    variable = found.group("v1") or found.group("v2") or found.group("v3")
    unknowns = set(re.findall(r"[a-z]", equation, re.IGNORECASE))
    if not unknowns or (variable is not None and variable not in unknowns):
        return None
    args: dict[str, object] = {"equation": equation}
    if variable is not None:
        args["variable"] = variable
    return ToolCall("solve_equation", args, "math")


def recognise(question: str) -> ToolCall | None:
    text = clean(question)
    for grammar in (_roman, _equation):
        call = grammar(text)
        if call is not None:
            return call
    worded = clean(digits_for_words(question))
    for grammar in (_factorize, _gcd_lcm, _statistics):
        call = grammar(worded)
        if call is not None:
            return call
    return None

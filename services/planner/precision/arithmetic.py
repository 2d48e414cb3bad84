"""Arithmetic for the `calculate` tool: plain expressions, arithmetic in words ("twelve
times seven", "the square root of 144") and percentages ("17.5% of 2340")."""

from __future__ import annotations

import re

from services.planner.precision.call import ToolCall
from services.planner.precision.words import NUMBER, clean, digits_for_words

# Words people put around an expression; what remains must be arithmetic only.
_LEAD = re.compile(
    r"^\s*(?:please\s+)?(?:what\s+is|what's|whats|calculate|compute|evaluate|how\s+much\s+is"
    r"|work\s+out|solve)\s+",
    re.IGNORECASE,
)
_TAIL = re.compile(r"\s*(?:=\s*)?\??\s*$")
_FUNCTIONS = r"sqrt|sin|cos|tan|log|log10|log2|exp|abs|round|floor|ceil|factorial|pi|e"
_ARITHMETIC = re.compile(rf"^(?:[\d\s.+\-*/%^(),]|{_FUNCTIONS})+$", re.IGNORECASE)
# An operator after a number, or a function call: brackets alone are no operation, so a
# number in brackets ("Is it safe? (3)") is not a calculation.
_HAS_OPERATION = re.compile(r"\d\s*\)*\s*[-+*/%^]|[a-z]\s*\(", re.IGNORECASE)

N = rf"({NUMBER})"
P = r"\s*(?:%|percent|per\s*cent)"
# Worded operators, most specific first; each becomes the operator calculate reads.
# Compiled once: every planned question with a digit in it goes through them.
_OPERATORS = [
    (re.compile(pattern, re.IGNORECASE), replacement)
    for pattern, replacement in [
        (r"\bthe\s+square\s+root\s+of\s+" + N, r"sqrt(\1)"),
        (r"\bsquare\s+root\s+of\s+" + N, r"sqrt(\1)"),
        (r"\bthe\s+cube\s+root\s+of\s+" + N, r"(\1)**(1/3)"),
        (N + r"\s+squared\b", r"(\1)**2"),
        (N + r"\s+cubed\b", r"(\1)**3"),
        (r"\bthe\s+sum\s+of\s+" + N + r"\s+and\s+" + N, r"\1 + \2"),
        (r"\bthe\s+product\s+of\s+" + N + r"\s+and\s+" + N, r"\1 * \2"),
        (r"\bthe\s+difference\s+between\s+" + N + r"\s+and\s+" + N, r"\1 - \2"),
        (r"\badd\s+" + N + r"\s+(?:and|to)\s+" + N, r"\1 + \2"),
        (r"\bsubtract\s+" + N + r"\s+from\s+" + N, r"\2 - \1"),
        (r"\bmultiply\s+" + N + r"\s+(?:by|and|with)\s+" + N, r"\1 * \2"),
        (r"\bdivide\s+" + N + r"\s+by\s+" + N, r"\1 / \2"),
        (r"\b(?:multiplied\s+by|times)\b", "*"),
        (r"(?<=\d)\s*[x\u00d7]\s*(?=\d)", " * "),  # x and the multiplication sign
        (r"\bdivided\s+by\b|\u00f7", "/"),  # and the division sign
        (r"\bplus\b", "+"),
        (r"\bminus\b", "-"),
        (r"\b(?:to\s+the\s+power\s+of|raised\s+to(?:\s+the\s+power\s+of)?)\b", "**"),
        (r"\bmod(?:ulo)?\b", "%"),
    ]
]
# Percentages, as whole questions (after the lead words are cut).
_PERCENTAGES = [
    (re.compile(pattern, re.IGNORECASE), template)
    for pattern, template in [
        (rf"^{N}{P}\s+of\s+{N}$", r"\1 / 100 * \2"),
        (rf"^(?:what|which)\s+percent(?:age)?\s+(?:of\s+{N}\s+is\s+{N})$", r"\2 / \1 * 100"),
        (rf"^{N}\s+is\s+what\s+percent(?:age)?\s+of\s+{N}$", r"\1 / \2 * 100"),
        (rf"^what\s+percent(?:age)?\s+is\s+{N}\s+of\s+{N}$", r"\1 / \2 * 100"),
        (rf"^(?:increase|raise)\s+{N}\s+by\s+{N}{P}$", r"\1 * (1 + \2 / 100)"),
        (rf"^(?:decrease|reduce|lower)\s+{N}\s+by\s+{N}{P}$", r"\1 * (1 - \2 / 100)"),
        (rf"^{N}\s+(?:plus|\+)\s+{N}{P}$", r"\1 * (1 + \2 / 100)"),
        (rf"^{N}\s+(?:minus|-)\s+{N}{P}$", r"\1 * (1 - \2 / 100)"),
        (rf"^{N}{P}\s+off\s+{N}$", r"\2 * (1 - \1 / 100)"),
    ]
]


def arithmetic_expression(question: str) -> str | None:
    """The expression `question` asks to evaluate, or None if it asks something else."""
    text = _TAIL.sub("", _LEAD.sub("", question.strip()))
    if not text or len(text) > 500 or not _ARITHMETIC.match(text):
        return None
    if not _HAS_OPERATION.search(text) or not any(ch.isdigit() for ch in text):
        return None
    return text


def _unthousand(text: str) -> str:
    return re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)


def _percentage(text: str) -> str | None:
    for pattern, template in _PERCENTAGES:
        found = pattern.match(text)
        if found:
            return _unthousand(found.expand(template))
    return None


def worded_expression(question: str) -> str | None:
    """Arithmetic asked in words or as a percentage, as an expression; else None."""
    text = _LEAD.sub("", clean(digits_for_words(question)))
    text = re.sub(r"^(?:the\s+)?(?:result|value)\s+of\s+", "", text, flags=re.IGNORECASE)
    percentage = _percentage(text)
    if percentage is not None:
        return percentage
    for pattern, replacement in _OPERATORS:
        text = pattern.sub(replacement, text)
    return arithmetic_expression(_unthousand(text))


def recognise(question: str) -> ToolCall | None:
    expression = arithmetic_expression(question) or worded_expression(question)
    if expression is None:
        return None
    return ToolCall("calculate", {"expression": expression}, "math")

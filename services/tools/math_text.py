"""Turning a `math` task written in words into math-node arguments: the operation from
keywords, the variable from 'with respect to x', bounds from 'from a to b', and the formula
from what is left once instruction words are stripped from both ends."""

from __future__ import annotations

import re

from services.tools.registry import ToolError
from services.tools.symbolic import MathArgs, Operation
from services.tools.sympy_parse import FUNCTIONS, parse

_KEYWORDS: tuple[tuple[Operation, tuple[str, ...]], ...] = (
    ("differentiate", ("derivative", "differentiate", "d/d")),
    ("integrate", ("integral", "integrate", "antiderivative")),
    ("solve", ("solve", "root of", "roots of", "zeros of")),
)
_RESPECT = re.compile(r"\b(?:with\s+respect\s+to|wrt|for)\s+([A-Za-z])\b", re.IGNORECASE)
_BOUNDS = re.compile(r"\bfrom\s+(\S+)\s+to\s+(\S+)", re.IGNORECASE)
_DIFFERENTIAL = re.compile(r"\s*\bd([A-Za-z])\s*$")
_WORD = re.compile(r"[A-Za-z]{2,}[,:;]?")


def _operation(text: str) -> Operation:
    lower = text.lower()
    for operation, words in _KEYWORDS:
        if any(word in lower for word in words):
            return operation
    return "solve" if "=" in text else "simplify"


def _strip_words(words: list[str]) -> list[str]:
    """Drop instruction words ('Find the derivative of') from the front and back."""

    def is_word(token: str) -> bool:
        return bool(_WORD.fullmatch(token)) and token.rstrip(",:;") not in FUNCTIONS

    while words and is_word(words[0]):
        words = words[1:]
    while words and is_word(words[-1]):
        words = words[:-1]
    return words


def math_from_text(text: str) -> MathArgs:
    """Best reading of a worded math task; a ToolError when no formula can be found."""
    operation = _operation(text)
    body = text.strip().rstrip("?.!")
    variable = None
    if found := _RESPECT.search(body):
        variable = found.group(1)
        body = body[: found.start()] + body[found.end() :]
    lower = upper = None
    if operation == "integrate" and (bounds := _BOUNDS.search(body)):
        lower, upper = bounds.group(1), bounds.group(2)
        body = body[: bounds.start()] + body[bounds.end() :]
    if ":" in body:
        body = body.rsplit(":", 1)[1]
    if operation == "integrate" and (differential := _DIFFERENTIAL.search(body)):
        variable = variable or differential.group(1)
        body = body[: differential.start()]
    formula = " ".join(_strip_words(body.split())).strip(" ,")
    if not formula:
        raise ToolError("no formula found in the task text", "task")
    if operation != "solve":
        parse(formula, "task")  # fail here, with the task named, rather than in the worker
    return MathArgs(
        operation=operation, expression=formula, variable=variable, lower=lower, upper=upper
    )

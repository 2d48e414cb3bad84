"""What a precision grammar recognises: one tool call with its arguments filled."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ToolCall:
    tool: str
    args: dict[str, Any]
    family: str
    """The tool family (arithmetic, dates, units, ...): the task's category."""


Grammar = Callable[[str], ToolCall | None]


def first_call(grammars: Iterable[Grammar], question: str) -> ToolCall | None:
    """The call of the first grammar, in order, that recognises `question`."""
    for grammar in grammars:
        call = grammar(question)
        if call is not None:
            return call
    return None

"""What a precision grammar recognises: one tool call with its arguments filled."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ToolCall:
    tool: str
    args: dict[str, Any]
    family: str
    """The tool family (arithmetic, dates, units, ...): the task's category."""

"""Precision routing: a question that is plain arithmetic goes to the `calculate` tool,
never to a model ("exactness over LLM estimation"). Anything else is left to experts."""

from __future__ import annotations

import re

# Words people put around an expression; what remains must be arithmetic only.
_LEAD = re.compile(
    r"^\s*(?:please\s+)?(?:what\s+is|what's|calculate|compute|evaluate|how\s+much\s+is)\s+",
    re.IGNORECASE,
)
_TAIL = re.compile(r"\s*(?:=\s*)?\??\s*$")
_FUNCTIONS = r"sqrt|sin|cos|tan|log|log10|log2|exp|abs|round|floor|ceil|factorial|pi|e"
_ARITHMETIC = re.compile(rf"^(?:[\d\s.+\-*/%^(),]|{_FUNCTIONS})+$", re.IGNORECASE)
_HAS_OPERATION = re.compile(r"\d\s*[-+*/%^]|\(|[a-z]\s*\(", re.IGNORECASE)


def arithmetic_expression(question: str) -> str | None:
    """The expression `question` asks to evaluate, or None if it asks something else."""
    text = _TAIL.sub("", _LEAD.sub("", question.strip()))
    if not text or len(text) > 500 or not _ARITHMETIC.match(text):
        return None
    if not _HAS_OPERATION.search(text) or not any(ch.isdigit() for ch in text):
        return None
    return text

"""The precision guard: no model may alter a precision tool's value.

A judge writes the final answer from the plan's results; its tokens stream to the client
as it writes them, so a misquoted number cannot be taken back. Once the answer is whole,
every exact value a tool reported (`TaskResult.exact_values`) must appear in it unchanged
(numbers compared as numbers once thousands separators are removed, other values as text,
ignoring case). If one is missing, the tool's block is appended verbatim as a last chunk
of the same stream, and the committed answer records the correction
(`AnswerCommitted.precision_corrections`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import structlog

from contracts import AnswerCommitted, PlanCreated, ReplyChunk, TaskResult
from contracts.events import PrecisionCorrection

log = structlog.get_logger()

NOTE = "Exact values from the precision tools (the answer above did not state them as computed):"
# Digits with optional thousands groups (1,234,567 · 1_234 · 1'234 · 1 234 with a
# (narrow) no-break space), an optional decimal part and exponent; a sign counts only when
# it does not join two words ("x-3" holds a 3, "= -3" a -3). A plain space is no
# separator: "between 1 and 500" holds two numbers.
_NUMBER = re.compile(
    r"(?<![\w.])(?P<sign>[-\u2212])?"
    r"(?P<digits>\d{1,3}(?:[,_'\u00a0\u202f]\d{3})+|\d+)?(?P<fraction>\.\d+)?"
    r"(?P<exponent>[eE][-+]?\d+)?(?![\w])"
)
_SEPARATORS = re.compile(r"[,_'\u00a0\u202f]")


def _number(text: str) -> Decimal | None:
    """`text` as a number, if all of it is one (separators allowed), else None."""
    match = _NUMBER.fullmatch(text.strip())
    if match is None or not (match["digits"] or match["fraction"]):
        return None
    return _value(match)


def _value(match: re.Match[str]) -> Decimal | None:
    digits = _SEPARATORS.sub("", match["digits"] or "0")
    sign = "-" if match["sign"] else ""
    try:
        return Decimal(f"{sign}{digits}{match['fraction'] or ''}{match['exponent'] or ''}")
    except InvalidOperation:
        return None


def numbers_in(text: str) -> set[Decimal]:
    found = set()
    for match in _NUMBER.finditer(text):
        if match["digits"] or match["fraction"]:
            value = _value(match)
            if value is not None:
                found.add(value)
    return found


def _folded(text: str) -> str:
    return " ".join(text.split()).casefold()


def missing_values(values: list[str], answer: str) -> list[str]:
    """The values `answer` does not contain: numerically, or else as text."""
    numbers, text = numbers_in(answer), _folded(answer)
    missing = []
    for value in values:
        number = _number(value)
        present = number in numbers if number is not None else _folded(value) in text
        if not present:
            missing.append(value)
    return missing


@dataclass(frozen=True)
class Guarded:
    """The answer after the guard: its text, the chunks still to send, the reply's length."""

    text: str
    seq: int
    chunks: list[ReplyChunk] = field(default_factory=list)
    corrections: list[PrecisionCorrection] = field(default_factory=list)

    def recorded(self, answer: AnswerCommitted) -> AnswerCommitted:
        if not self.corrections:
            return answer
        return answer.model_copy(update={"precision_corrections": self.corrections})


def guard(plan: PlanCreated, results: list[TaskResult], text: str, seq: int) -> Guarded:
    """Check the model-written `text` (sent as `seq` chunks) against the tool results."""
    corrections, blocks = [], []
    for result in results:
        if result.error or not result.exact_values:
            continue
        missing = missing_values(result.exact_values, text)
        if missing:
            tool = (result.model or "tool").removeprefix("tool:")
            corrections.append(
                PrecisionCorrection(task_id=result.task_id, tool=tool, missing=missing)
            )
            blocks.append(result.output)
    if not corrections:
        return Guarded(text, seq)
    log.warning(
        "precision_guard_corrected",
        request_id=plan.request_id,
        tools=[c.tool for c in corrections],
        missing=[c.missing for c in corrections],
    )
    delta = "\n\n" + NOTE + "\n\n" + "\n\n".join(blocks)
    chunk = ReplyChunk(request_id=plan.request_id, tenant=plan.tenant, seq=seq, delta=delta)
    return Guarded(text + delta, seq + 1, [chunk], corrections)

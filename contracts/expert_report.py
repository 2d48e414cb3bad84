"""The expert answer format from the reference system, read by the experts (confidence,
escalation) and the merger (what a passed-through answer shows):

    CORE_FINDING: <the answer in one or two sentences>
    CONFIDENCE: high|medium|low
    GAPS: <what the expert is unsure of>
    DETAILS: <the full answer>

Small models follow it loosely: labels may be bold, lower-case or missing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from contracts.events import Confidence

SECTIONS = ("CORE_FINDING", "CONFIDENCE", "GAPS", "DETAILS")
_LABEL = re.compile(
    r"^[\s*#_>-]*(" + "|".join(SECTIONS) + r")[\s*_]*:[\s*_]*", re.IGNORECASE | re.MULTILINE
)
_LEVEL = re.compile(r"\b(high|medium|low)\b", re.IGNORECASE)


@dataclass(frozen=True)
class ExpertReport:
    core_finding: str = ""
    confidence: Confidence | None = None
    gaps: str = ""
    details: str = ""

    @property
    def answer(self) -> str:
        """What a reader of the answer wants: the details, else the core finding."""
        return self.details or self.core_finding


def parse_report(output: str) -> ExpertReport:
    """The report's sections; a text without labels is all DETAILS."""
    labels = list(_LABEL.finditer(output))
    if not labels:
        return ExpertReport(details=output.strip())
    sections: dict[str, str] = {}
    for label, following in zip(labels, [*labels[1:], None], strict=True):
        end = following.start() if following else len(output)
        sections.setdefault(label.group(1).upper(), output[label.end() : end].strip())
    level = _LEVEL.search(sections.get("CONFIDENCE", ""))
    return ExpertReport(
        core_finding=sections.get("CORE_FINDING", ""),
        confidence=level.group(1).lower() if level else None,  # type: ignore[arg-type]
        gaps=sections.get("GAPS", ""),
        details=sections.get("DETAILS", ""),
    )


def confidence_of(output: str, failed: bool) -> Confidence:
    """An answer's stated confidence: a failed or empty answer is low whatever it
    claims, a missing or unreadable tag is medium."""
    if failed or not output.strip():
        return "low"
    return parse_report(output).confidence or "medium"


EXPERT_CATEGORIES: Final = (
    "general",
    "math",
    "technical_support",
    "creative_writer",
    "code_reviewer",
    "medical_consult",
    "legal_advisor",
    "translation",
    "reasoning",
)
"""The reference system's categories, each with its role (services.experts.prompts); the
planner's default list of categories a planned task may name."""

REVIEWED_CATEGORIES = frozenset({"medical_consult", "legal_advisor"})
"""Answers in these categories are checked by the merger's critic before the client gets
them, so their experts never stream to the client."""

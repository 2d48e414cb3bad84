"""How a question is matched against the knowledge graph's terms, without a model.

Shared by the planner (does the question name a known term? then plan a graph task) and
the ingest service (which entities does it name? start the traversal there): both must
find the same terms in the same text. Matching is case-insensitive on whole words, so
"aspirin" matches "Is Aspirin safe?" but "ace" does not match "space"."""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_TERM_WORDS = 6
"""Longer names are not indexed: the n-grams of a question are tried up to this length."""

_WORD = re.compile(r"[0-9a-z]+(?:[+#]+|(?:[-.][0-9a-z]+)*)")
# Apostrophes are dropped ("Fermat's" is "fermats"): typed straight or curly, a name
# matches either way, and no normalised term carries a quote into a graph query.
_APOSTROPHES = str.maketrans("", "", "'\u2019")
# Words of two letters or fewer are not terms on their own ("is", "of", "ai"): too many
# false matches in ordinary questions. Longer names that contain them still match.
MIN_SINGLE_WORD_CHARS = 3


def words(text: str) -> list[str]:
    """`text` as lower-case words; "C++", "COVID-19" and "Node.js" stay one word each."""
    return _WORD.findall(text.lower().translate(_APOSTROPHES))


def normalise(term: str) -> str:
    """The form a term is indexed and matched in: its words, joined by single spaces."""
    return " ".join(words(term))


def indexable(term: str) -> bool:
    found = words(term)
    if not found or len(found) > MAX_TERM_WORDS:
        return False
    return len(found) > 1 or len(found[0]) >= MIN_SINGLE_WORD_CHARS


def mentioned(text: str, terms: frozenset[str] | set[str]) -> list[str]:
    """The normalised terms in `terms` that `text` names, in order of first mention,
    longest first where they overlap."""
    tokens = words(text)
    found: dict[str, int] = {}
    for size in range(min(MAX_TERM_WORDS, len(tokens)), 0, -1):
        for start in range(len(tokens) - size + 1):
            candidate = " ".join(tokens[start : start + size])
            if candidate in terms and candidate not in found:
                found[candidate] = start
    return sorted(found, key=lambda term: (found[term], -len(term)))


def term_set(terms: Iterable[str]) -> frozenset[str]:
    """Normalised, indexable terms only (what a GraphTerms event carries)."""
    return frozenset(n for t in terms if indexable(t) and (n := normalise(t)))

"""What the planner-paths section (bench.planner_paths) asks and what its scripted models
answer: one question whose long answer both caches keep, fresh paraphrases of it that
only the semantic cache can serve, and vague questions, each new, that neither cache,
the precision grammars nor the router settle, so that the LLM planner plans them."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator

CACHED = "How does a refrigerator keep food cold?"
PARAPHRASES = (
    "How does a fridge keep food cold?",
    "How does a refrigerator keep the food cold?",
    "How do refrigerators keep food cold?",
    "How does a refrigerator keep food chilled?",
    "In what way does a refrigerator keep food cold?",
    "How is food kept cold by a refrigerator?",
    "How does the refrigerator keep food cold?",
    "How does a fridge keep the food cold?",
)
# Variations that leave the meaning alone: every combination is a text the exact cache
# has never seen, still well within the semantic cache's hit threshold of CACHED
# (tests/bench/test_parts.py checks each one with the planner's own embedder).
OPENINGS = ("", "Quick question: ", "Hi! ", "Hello, ")
ENDINGS = (
    "", " Please explain.", " I wonder.", " Thanks!", " (asking for a friend)",
    " Briefly, please.", " Just curious.", " Any idea?",
)  # fmt: skip

# Longer than MIN_ANSWER_CHARS: the semantic cache keeps only such answers.
ANSWER = (
    "A refrigerator pumps heat out of its insulated box: a refrigerant evaporates in the "
    "coils inside, taking heat from the food, then a compressor squeezes it so that it "
    "gives that heat off through the coils at the back."
)

PLAN = json.dumps(
    {"tasks": [{"id": "t1", "task": "Answer the user's question briefly.", "category": "general"}]}
)
"""The planner model's answer: a valid one-task plan (one general expert task)."""

SYLLABLES = ("ba", "ko", "ru", "mi", "te", "zu", "lo", "ne", "fi", "sa")
VAGUE = ("Any thoughts about {}?", "Tell me your view on {}.", "Is {} any good?")


def paraphrases() -> Iterator[str]:
    """Each paraphrase of CACHED once."""
    for opening, ending, text in itertools.product(OPENINGS, ENDINGS, PARAPHRASES):
        yield f"{opening}{text}{ending}"


def answer_tokens(text: str) -> list[str]:
    """The text as word tokens, spaces kept, so that the streamed answer is the text."""
    words = text.split(" ")
    return [words[0], *(f" {word}" for word in words[1:])]


def vague(number: int) -> str:
    """The number-th vague question: about a made-up word (its digits as syllables), so
    that it is new, far from every router prototype and from CACHED."""
    word = "zy" + "".join(SYLLABLES[int(digit)] for digit in str(number))
    return VAGUE[number % len(VAGUE)].format(word)

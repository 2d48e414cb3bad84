"""What the soak asks, and when: a seeded, reproducible mix of model questions, plain
arithmetic (which the planner turns into one `calculate` tool task) and repeats of
earlier questions (answer-cache hits), sent mostly one at a time, sometimes two at once,
with now and then an idle gap longer than a client's idle-connection timeout."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from enum import StrEnum

MODES = ("moe-orchestrator", "moe-orchestrator-concise")
IDLE_GAP_S = 5.0
"""httpx's keep-alive expiry (the openai client's pool): a longer pause idles out the
client's pooled connection, so the next request opens a new one."""

_TEMPLATES = (
    "Describe {} in one sentence.",
    "Name two facts about {}.",
    "What is {} used for?",
    "Give one short tip about {}.",
    "Explain {} to a child, briefly.",
    "Is {} old or new? Answer in a few words.",
)
_SUBJECTS = (
    "a bicycle", "the moon", "tea", "a river", "bread", "a compass", "the ocean",
    "a violin", "snow", "a library", "coffee", "a bridge", "a volcano", "paper",
    "a lighthouse", "honey", "a clock", "glass", "a forest", "the alphabet", "a kite",
    "salt", "a map", "rain", "a garden", "copper", "a train", "chess", "an umbrella",
    "the wind", "a candle", "cheese", "a telescope", "wool", "a harbour", "a piano",
)  # fmt: skip


class Kind(StrEnum):
    EXPERT = "expert"
    """A question the real small model answers (a single-expert plan)."""
    TOOL = "tool"
    """Plain arithmetic: one `calculate` task, answered exactly, no model call."""
    REPEAT = "repeat"
    """An earlier question asked again the same way: an answer-cache hit."""


@dataclass(frozen=True)
class Ask:
    kind: Kind
    question: str
    mode: str
    stream: bool
    max_tokens: int | None = None
    expect: str | None = None
    """Text the answer must contain (the exact value of an arithmetic question)."""


@dataclass(frozen=True)
class MixProfile:
    """Shares of each kind and of each pacing choice; they need not sum to one."""

    expert: float = 0.45
    tool: float = 0.35
    repeat: float = 0.20
    stream_share: float = 0.5
    pair_share: float = 0.08
    """Chance that the next step sends two requests at once."""
    gap_share: float = 0.015
    """Chance that a step is followed by an idle gap of `gap_s` seconds."""
    gap_s: tuple[float, float] = (6.0, 20.0)
    think_share: float = 0.25
    """Chance of a short pause (`think_s`) between back-to-back requests."""
    think_s: tuple[float, float] = (0.2, 2.0)
    max_tokens: tuple[int, int] = (16, 64)


PROFILES: dict[str, MixProfile] = {
    "mix": MixProfile(),
    # The trigger reported for the wedge: one client, back to back, short model answers
    # and calculate answers, no concurrency, no gaps.
    "trickle": MixProfile(
        expert=0.5, tool=0.5, repeat=0.0, pair_share=0.0, gap_share=0.0, think_share=0.0,
        max_tokens=(12, 32),
    ),
}  # fmt: skip


def _arithmetic(rng: random.Random) -> tuple[str, str]:
    """A question that is plain arithmetic and its exact integer answer."""
    a, b, c = rng.randint(100, 9999), rng.randint(100, 9999), rng.randint(2, 99)
    shape = rng.randrange(4)
    if shape == 0:
        return f"What is {a} * {b}?", str(a * b)
    if shape == 1:
        return f"Calculate ({a} + {b}) * {c}", str((a + b) * c)
    if shape == 2:
        return f"What is 2**{c} - {b}?", str(2**c - b)
    return f"Compute {a * c} / {c} + {b}", str(a + b)


class Mix:
    """Draws the next request and the next pause, reproducibly from one seed."""

    def __init__(self, seed: int, profile: MixProfile) -> None:
        self.rng = random.Random(seed)
        self.profile = profile
        self._asked: set[str] = set()
        self._answered: list[Ask] = []

    def next_ask(self) -> Ask:
        p = self.profile
        kind = self.rng.choices(list(Kind), weights=[p.expert, p.tool, p.repeat])[0]
        stream = self.rng.random() < p.stream_share
        if kind is Kind.REPEAT and self._answered:
            earlier = self.rng.choice(self._answered)
            return replace(earlier, kind=Kind.REPEAT, stream=stream)
        if kind is Kind.TOOL or (kind is Kind.REPEAT and self.rng.random() < p.tool):
            question, value = _arithmetic(self.rng)
            return Ask(Kind.TOOL, question, self.rng.choice(MODES), stream, expect=value)
        return Ask(
            Kind.EXPERT,
            self._new_question(),
            self.rng.choice(MODES),
            stream,
            max_tokens=self.rng.randint(*p.max_tokens),
        )

    def _new_question(self) -> str:
        for _ in range(20):
            question = self.rng.choice(_TEMPLATES).format(self.rng.choice(_SUBJECTS))
            if question not in self._asked:
                break
        else:  # every phrasing drawn was used: make it new
            question = f"{question} (take {len(self._asked)})"
        self._asked.add(question)
        return question

    def answered(self, ask: Ask, cacheable: bool) -> None:
        """Remember a whole answer (not cut short by a length limit) to repeat later."""
        if cacheable and ask.kind is not Kind.REPEAT:
            self._answered.append(ask)

    def batch_size(self) -> int:
        return 2 if self.rng.random() < self.profile.pair_share else 1

    def pause_s(self) -> float:
        p = self.profile
        if self.rng.random() < p.gap_share:
            return self.rng.uniform(*p.gap_s)
        if self.rng.random() < p.think_share:
            return self.rng.uniform(*p.think_s)
        return 0.0

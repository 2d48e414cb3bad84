"""Performance scores learned from feedback: `(positive + 1) / (total + 2)` per model and
category, the reference system's rule.

Every expert instance holds the same view, replayed from moe.feedback (kept for good,
contracts.topics.KEPT_FOR_GOOD) by a subscriber without a consumer group: the scores
are shared, and a restart rebuilds them. Each rating names the models of the answer it
rates (`model::category`, from AnswerCommitted via the gateway)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from contracts import FeedbackGiven
from services.experts.models import ExpertBinding

NEUTRAL = 0.5
MIN_RATINGS = 5
"""Under this many ratings a model scores NEUTRAL: too few to judge it."""
SKIP_BELOW = 0.3


@dataclass
class Tally:
    positive: int = 0
    total: int = 0

    @property
    def score(self) -> float:
        if self.total < MIN_RATINGS:
            return NEUTRAL
        return (self.positive + 1) / (self.total + 2)


def model_key(model: str, category: str) -> str:
    return f"{model}::{category}"


class ScoreBook:
    def __init__(self) -> None:
        self._tallies: dict[str, Tally] = defaultdict(Tally)

    def apply(self, feedback: FeedbackGiven) -> None:
        """A positive rating counts for each model of the answer, a negative one against
        it; a neutral one (3 stars) is not counted."""
        if feedback.rating == 0:
            return
        for key in set(feedback.models):
            tally = self._tallies[key]
            tally.total += 1
            tally.positive += feedback.rating > 0

    def tally(self, model: str, category: str) -> Tally:
        return self._tallies.get(model_key(model, category)) or Tally()

    def rank(self, bindings: Sequence[ExpertBinding]) -> list[ExpertBinding]:
        """The models best score first (ties keep EXPERT_MODELS order), without those
        scoring below SKIP_BELOW after MIN_RATINGS ratings; when that would leave
        none, the best of them answers anyway, and its result says why."""
        scored = sorted(bindings, key=lambda b: -self.tally(b.model, b.category).score)
        kept = [b for b in scored if not self._failing(b)]
        if kept or not scored:
            return kept
        best = scored[0]
        tally = self.tally(best.model, best.category)
        note = (
            f"scored {tally.score:.2f} after {tally.total} ratings (below {SKIP_BELOW}), "
            f"answering as the category's only model"
        )
        return [replace(best, note=note)]

    def _failing(self, binding: ExpertBinding) -> bool:
        tally = self.tally(binding.model, binding.category)
        return tally.total >= MIN_RATINGS and tally.score < SKIP_BELOW

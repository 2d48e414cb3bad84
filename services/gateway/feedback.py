"""`POST /v1/feedback`: a client rates an answer it was given, 1-5 stars.

The gateway knows which answers exist, whose they are and which models made them from
moe.answers, read from the beginning into a bounded view (no consumer group: every
gateway instance holds it). A rating becomes FeedbackGiven on moe.feedback, naming the
models, so the experts' scores and the answer cache follow it."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass

from faststream.kafka import KafkaBroker
from pydantic import BaseModel, ConfigDict, Field

from contracts import AnswerCommitted, FeedbackGiven
from contracts.topics import ANSWERS
from contracts.wire import FETCH_MAX_WAIT_MS


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    response_id: str = Field(min_length=1, description="The `id` of a chat completion.")
    rating: int = Field(ge=1, le=5, description="1-2 negative, 3 neutral, 4-5 positive.")
    comment: str | None = Field(default=None, max_length=4000)


@dataclass(frozen=True)
class Answered:
    request_id: str
    tenant: str
    models: list[str]


class AnsweredView:
    """response_id -> who got the answer and which models made it, newest kept."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._answers: OrderedDict[str, Answered] = OrderedDict()
        self._arrived = asyncio.Condition()

    async def record(self, answer: AnswerCommitted) -> None:
        entry = Answered(answer.request_id, answer.tenant, list(answer.models))
        self._answers[answer.response_id] = entry
        self._answers.move_to_end(answer.response_id)
        while len(self._answers) > self.capacity:
            self._answers.popitem(last=False)
        async with self._arrived:
            self._arrived.notify_all()

    async def find(self, response_id: str, wait_s: float) -> Answered | None:
        """The answer, waiting up to `wait_s` for it: a client may rate an answer the
        moment it ends, just before its AnswerCommitted reaches this view."""
        deadline = time.monotonic() + wait_s
        async with self._arrived:
            while (found := self._answers.get(response_id)) is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                try:
                    async with asyncio.timeout(left):
                        await self._arrived.wait()
                except TimeoutError:
                    return None
            return found


def attach_answers_consumer(broker: KafkaBroker, view: AnsweredView) -> None:
    @broker.subscriber(ANSWERS, auto_offset_reset="earliest", fetch_max_wait_ms=FETCH_MAX_WAIT_MS)
    async def on_answer(answer: AnswerCommitted) -> None:
        await view.record(answer)


def feedback_event(body: FeedbackRequest, answered: Answered) -> FeedbackGiven:
    return FeedbackGiven.from_stars(
        body.rating,
        request_id=answered.request_id,
        tenant=answered.tenant,
        response_id=body.response_id,
        comment=body.comment,
        models=answered.models,
    )

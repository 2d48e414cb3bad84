"""A repeated question answered from the cache: the planner replies itself (two broker
hops, no model call) and records the hit as the request's plan, for audit."""

from __future__ import annotations

from faststream.kafka import KafkaBroker

from contracts import CachedAnswer, PlanCreated, ReplyChunk, ReplyDone, RequestReceived
from contracts.events import PlanSource
from contracts.topics import PLANS, REPLIES
from contracts.wire import Unconfirmed
from services.planner.plan import last_user_text


async def answer_from_cache(
    broker: KafkaBroker,
    request: RequestReceived,
    hit: CachedAnswer,
    planned_by: PlanSource = "exact_cache",
    note: str | None = None,
    distance: float | None = None,
) -> None:
    ids = {"request_id": request.request_id, "tenant": request.tenant}
    plan = PlanCreated(
        **ids,
        question=last_user_text(request),
        cache_hit=hit,
        planned_by=planned_by,
        plan_note=note,
        distance=distance,
    )
    # One round trip for all three; the chunk stays before the done (same partition).
    sent = Unconfirmed(broker)
    await sent.send(ReplyChunk(**ids, seq=0, delta=hit.answer), REPLIES)
    await sent.send(ReplyDone(**ids, seq=1), REPLIES)
    await sent.send(plan, PLANS)
    await sent.confirmed()

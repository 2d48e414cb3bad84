"""A repeated question answered from the cache: the planner replies itself (two broker
hops, no model call) and records the hit as the request's plan, for audit."""

from __future__ import annotations

import asyncio

from faststream.kafka import KafkaBroker

from contracts import CachedAnswer, PlanCreated, ReplyChunk, ReplyDone, RequestReceived
from contracts.topics import PLANS, REPLIES
from contracts.wire import send_event
from services.planner.plan import last_user_text


async def answer_from_cache(
    broker: KafkaBroker, request: RequestReceived, hit: CachedAnswer
) -> None:
    ids = {"request_id": request.request_id, "tenant": request.tenant}
    # Sent back to back and confirmed together: the producer keeps the chunk before the
    # done (same key, same partition), and nothing here has to wait for the other.
    sent = [
        await send_event(broker, ReplyChunk(**ids, seq=0, delta=hit.answer), REPLIES),
        await send_event(broker, ReplyDone(**ids, seq=1), REPLIES),
        await send_event(
            broker,
            PlanCreated(**ids, question=last_user_text(request), cache_hit=hit),
            PLANS,
        ),
    ]
    await asyncio.gather(*(s for s in sent if asyncio.isfuture(s)))

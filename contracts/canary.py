"""Canary round trips: how the gateway's /health proves that each stage can answer.

The gateway sends a CanaryPing to a stage's own input topic, where the stage's real
consumer (same group, same subscriber as its work) receives it like any other event. The
stage answers with a CanaryPong on moe.replies and does nothing else: no model call, no
cache lookup, no plan, no answer. A pong therefore proves that the stage's consumer is in
its group and reading, and that its producer is writing."""

from __future__ import annotations

from typing import Final

from faststream.kafka import KafkaBroker

from contracts.events import CanaryPing, CanaryPong
from contracts.topics import PLANS, REPLIES, REQUESTS, task_topic
from contracts.wire import publish_event

CANARY_STAGES: Final[dict[str, str]] = {
    "planner": REQUESTS,
    "experts": task_topic("expert"),
    "tools": task_topic("tool"),
    "research": task_topic("research"),
    "graph": task_topic("graph"),
    "merger": PLANS,
}
"""Each stage and the input topic its canary is sent to."""

REQUIRED_STAGES: Final[tuple[str, ...]] = ("planner", "experts", "tools", "merger")
"""The stages every request may need (research runs only when SEARXNG_URL is set)."""


async def answer_canary(
    broker: KafkaBroker, ping: CanaryPing, service: str, worker_id: str = ""
) -> None:
    pong = CanaryPong(
        request_id=ping.request_id,
        tenant=ping.tenant,
        stage=ping.stage,
        service=service,
        worker_id=worker_id,
    )
    await publish_event(broker, pong, REPLIES)

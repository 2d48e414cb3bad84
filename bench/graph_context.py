"""Graph-context task latency: a TaskAssigned on moe.tasks.graph to its TaskResult on
moe.results, through the ingest service (its own process, FalkorDB behind it, the
context cache off so every task runs the query), against the same 2-hop query run
directly through the neo4j driver. Measured at the base ontology's size, then again
after generating `relations` more relations around it (server-side, in Cypher).

Run on its own, with a broker of its own: `python -m bench.graph_context`."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from neo4j import AsyncDriver, AsyncGraphDatabase

from bench.report import GraphContextSize
from bench.stats import Compared, Distribution
from contracts import ChatMessage, TaskAssigned, TaskSpec, new_id
from contracts.topics import RESULTS, task_topic
from contracts.wire import event_headers
from deploy.local import Component, bolt_uri, free_port, graphdb_component
from deploy.local.graphdb import GRAPH_NAME, MAX_BOLT_PORT
from deploy.local.health import close_without_goodbye, http_ok
from services.ingest.context import TWO_HOPS

QUESTION = "Does aspirin help with a headache?"
SEEDS = ["aspirin", "headache"]  # what the service's term index finds in QUESTION
FIRST_FANOUT, SECOND_FANOUT = 8, 4  # the service's defaults
BATCH = 5000  # generated rows per query: a small request, whatever the count

GENERATE_ENTITIES = """
UNWIND range($start, $end) AS i
CREATE (:Entity {key: 'gen ' + toString(i), tenant: '', name: 'Gen ' + toString(i),
  type: 'Generated', aliases: [], terms: []})
"""
# Each generated entity is related to the next one and to one ontology entity, so every
# ontology entity (aspirin among them) gets hundreds of neighbours: the fan-out bounds
# decide what the 2-hop query reads.
GENERATE_RELATIONS = """
MATCH (hub:Entity {tenant: ''}) WHERE hub.type <> 'Generated'
WITH collect(hub) AS hubs
UNWIND range($start, $end) AS i
MATCH (a:Entity {key: 'gen ' + toString(i)}), (b:Entity {key: 'gen ' + toString((i + 1) % $n)})
WITH a, b, hubs[i % size(hubs)] AS hub
CREATE (a)-[:RELATED_TO {tenant: '', verified: true, flagged: false}]->(b),
  (a)-[:RELATED_TO {tenant: '', verified: true, flagged: false}]->(hub)
"""
COUNT_RELATIONS = "MATCH ()-[r]->() RETURN count(r) AS n"


@dataclass
class GraphSize:
    """One graph size: the task through the service, and the query directly."""

    relations: int
    service: list[float] = field(default_factory=list)
    direct: list[float] = field(default_factory=list)
    errors: int = 0
    last_error: str | None = None


def report_rows(sizes: list[GraphSize]) -> list[GraphContextSize]:
    """Each size's task latency against its driver baseline, for the report."""
    return [
        GraphContextSize(
            relations=size.relations,
            task=Compared.of(
                Distribution.of_seconds(size.service), Distribution.of_seconds(size.direct)
            ),
            errors=size.errors,
            last_error=size.last_error,
        )
        for size in sizes
    ]


async def _run(driver: AsyncDriver, query: str, **params: Any) -> list[dict[str, Any]]:
    async with driver.session(database=GRAPH_NAME) as session:
        result = await session.run(query, params)
        return await result.data()


async def relation_count(driver: AsyncDriver) -> int:
    [row] = await _run(driver, COUNT_RELATIONS)
    return int(row["n"])


async def generate(driver: AsyncDriver, relations: int) -> None:
    """Add about `relations` relations (two per generated entity)."""
    entities = max(1, relations // 2)
    for start in range(0, entities, BATCH):
        end = min(start + BATCH, entities) - 1
        await _run(driver, GENERATE_ENTITIES, start=start, end=end)
    for start in range(0, entities, BATCH):
        end = min(start + BATCH, entities) - 1
        await _run(driver, GENERATE_RELATIONS, start=start, end=end, n=entities)


async def measure_direct(driver: AsyncDriver, requests: int, size: GraphSize) -> None:
    for _ in range(requests):
        started = time.perf_counter()
        await _run(
            driver,
            TWO_HOPS,
            keys=SEEDS,
            scopes=["", "default"],
            first_fanout=FIRST_FANOUT,
            second_fanout=SECOND_FANOUT,
        )
        size.direct.append(time.perf_counter() - started)


class TaskClient:
    """Publishes graph tasks and waits for each one's TaskResult on moe.results."""

    def __init__(self, bootstrap: str) -> None:
        self._producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        self._consumer = AIOKafkaConsumer(
            RESULTS, bootstrap_servers=bootstrap, auto_offset_reset="latest", fetch_max_wait_ms=5
        )
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> TaskClient:
        await self._producer.start()
        await self._consumer.start()
        await self._consumer.seek_to_end()
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        await self._consumer.stop()
        await self._producer.stop()

    async def _read(self) -> None:
        async for record in self._consumer:
            event = json.loads(record.value)
            waiter = self._waiting.pop(event.get("request_id", ""), None)
            if waiter is not None and not waiter.done():
                waiter.set_result(event)

    async def ask(self, timeout_s: float = 10.0) -> tuple[float, dict[str, Any]]:
        request_id = new_id("bench-graph-")
        task = TaskAssigned(
            request_id=request_id,
            task=TaskSpec(
                id=f"{request_id}:graph", task=QUESTION, category="graph", worker="graph"
            ),
            messages=[ChatMessage(role="user", content=QUESTION)],
        )
        waiter = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = waiter
        headers = [(k, v.encode()) for k, v in event_headers().items()]
        started = time.perf_counter()
        await self._producer.send_and_wait(
            task_topic("graph"), task.model_dump_json().encode(), key=request_id.encode(),
            headers=headers,
        )  # fmt: skip
        async with asyncio.timeout(timeout_s):
            result = await waiter
        return time.perf_counter() - started, result


async def measure_service(client: TaskClient, requests: int, size: GraphSize) -> None:
    for _ in range(requests):
        try:
            elapsed, result = await client.ask()
        except TimeoutError:
            size.errors += 1
            size.last_error = "no TaskResult within 10 s"
            continue
        if result.get("error") or "[Knowledge Graph]" not in result.get("output", ""):
            size.errors += 1
            size.last_error = str(result.get("error"))
            continue
        size.service.append(elapsed)


@asynccontextmanager
async def graph_service(bootstrap: str, log_dir: Path) -> AsyncIterator[tuple[str, str]]:
    """FalkorDB and the ingest service (extraction and context cache off) on free ports;
    yields the Bolt URI and the service's URL."""
    bolt_port, http_port = free_port(max_port=MAX_BOLT_PORT), free_port()
    graphdb = graphdb_component(free_port(), bolt_port, log_dir)
    url = f"http://127.0.0.1:{http_port}"
    ingest = Component(
        name="ingest",
        command=[sys.executable, "-m", "services.ingest"],
        log_path=log_dir / "ingest.log",
        env={
            "KAFKA_URL": bootstrap,
            "INGEST_BOLT_URL": bolt_uri(bolt_port),
            "INGEST_PORT": str(http_port),
            "INGEST_EXTRACTION": "false",
            "INGEST_CONTEXT_TTL_S": "0",
            "INGEST_GRAPH_GROUP_ID": new_id("bench-graph-"),  # tasks from now on only
            "INGEST_INGEST_GROUP_ID": new_id("bench-ingest-"),
            "PYTHONUNBUFFERED": "1",
        },
        health=lambda: http_ok(f"{url}/health"),  # the base ontology is loaded
        startup_timeout_s=90.0,
    )
    await graphdb.start()
    try:
        await ingest.start()
        try:
            yield bolt_uri(bolt_port), url
        finally:
            ingest.stop()
    finally:
        graphdb.stop()


async def measure_graph_context(
    bootstrap: str, log_dir: Path, requests: int, relations: int
) -> list[GraphSize]:
    """The base ontology's size, then `relations` more (0: the base only)."""
    sizes: list[GraphSize] = []
    async with graph_service(bootstrap, log_dir) as (bolt, _), TaskClient(bootstrap) as client:
        driver = AsyncGraphDatabase.driver(bolt, auth=None)
        try:
            for extra in [0, relations] if relations else [0]:
                if extra:
                    await generate(driver, extra)
                size = GraphSize(relations=await relation_count(driver))
                await measure_service(client, max(2, requests // 10), GraphSize(0))  # warm-up
                await measure_direct(driver, max(2, requests // 10), GraphSize(0))
                await measure_service(client, requests, size)
                await measure_direct(driver, requests, size)
                sizes.append(size)
        finally:
            await close_without_goodbye(driver)
    return sizes


def _empty_folder(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)


async def _main(requests: int, relations: int) -> None:
    from deploy.local import start_broker
    from deploy.local.broker import KafkaNode

    work = Path(".stack/bench/graph")
    await asyncio.to_thread(_empty_folder, work)
    node = KafkaNode(port=free_port(), controller_port=free_port(), state_dir=work / "kafka")
    broker = await start_broker(node, work)
    try:
        sizes = await measure_graph_context(node.bootstrap, work, requests, relations)
    finally:
        broker.stop()
    for row in report_rows(sizes):
        print(
            f"{row.relations} relations: service p50/p99 {row.task.measured.p50}/"
            f"{row.task.measured.p99} ms, driver directly {row.task.baseline.p50}/"
            f"{row.task.baseline.p99} ms, errors {row.errors} ({row.last_error})"
        )


if __name__ == "__main__":
    args = [int(arg) for arg in sys.argv[1:3]]
    asyncio.run(_main(*(args + [200, 100_000][len(args) :])))

"""Health probes used by the components: each returns True when the thing serves."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
from aiokafka.admin import AIOKafkaAdminClient
from neo4j import AsyncDriver, AsyncGraphDatabase


def probe_client(timeout_s: float = 2.0) -> httpx.AsyncClient:
    """A client for plain-HTTP loopback probes. Without TLS verification set up: loading
    the CA bundle costs ~50 ms of CPU per client, and the supervisor probes every 10 s."""
    return httpx.AsyncClient(timeout=timeout_s, verify=False)


async def http_ok(url: str) -> bool:
    """GET `url` answers 200."""
    async with probe_client() as client:
        response = await client.get(url)
    return response.status_code == 200


async def file_fresh(path: Path, max_age_s: float) -> bool:
    """The file was rewritten within `max_age_s` (a worker's liveness file: its event
    loop still runs); a missing file raises, which a probe reports."""
    stat = await asyncio.to_thread(path.stat)
    return time.time() - stat.st_mtime < max_age_s


async def tcp_open(host: str, port: int) -> bool:
    """Something accepts TCP connections on host:port."""
    try:
        _, writer = await asyncio.open_connection(host, port)
    except OSError:
        return False
    writer.close()
    await writer.wait_closed()
    return True


async def kafka_ready(bootstrap: str) -> bool:
    """A Kafka metadata request succeeds and names at least one broker."""
    host, _, port = bootstrap.rpartition(":")
    if not await tcp_open(host, int(port)):
        return False  # spares aiokafka's error log while the broker is still starting
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=2000)
    try:
        await admin.start()
        cluster = await admin.describe_cluster()
    finally:
        await admin.close()
    return bool(cluster.get("brokers"))


async def bolt_ready(uri: str, database: str) -> bool:
    """`RETURN 1` over Bolt with the official neo4j driver, as FalkorDB wants it: no
    credentials and an explicit database (graph) name, or the handshake fails."""
    driver = AsyncGraphDatabase.driver(uri, auth=None, connection_timeout=2.0)
    try:
        async with driver.session(database=database) as session:
            result = await session.run("RETURN 1 AS ok")
            record = await result.single()
    finally:
        await close_without_goodbye(driver)
    return record is not None and record["ok"] == 1


async def close_without_goodbye(driver: AsyncDriver) -> None:
    """Close a driver connected to FalkorDB without sending Bolt GOODBYE.

    FalkorDB 4.16 frees a Bolt client on GOODBYE but keeps its socket in the event loop,
    so the next connection that gets the same file descriptor hangs in the handshake
    (seen here: the driver after a cleanly closed one waits out its 60 s deadline).
    Dropping the sockets instead takes the server's end-of-stream path, which is clean.
    The pool is private driver API, hence the defensive lookup.
    """
    pool = getattr(driver, "_pool", None)
    for connections in getattr(pool, "connections", {}).values():
        for connection in list(connections):
            connection.kill()
    await driver.close()

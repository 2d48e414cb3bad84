"""The graph database behind one long-lived neo4j driver: FalkorDB over Bolt locally,
Neo4j 5 in production. Every query is parameterised and bounded in time.

One driver per process, never closed cleanly while the process runs: FalkorDB 4.16 frees
a Bolt client on GOODBYE but keeps its socket in its event loop, so the next connection
that gets the same file descriptor hangs in the handshake. At shutdown the pool's sockets
are dropped instead (the server's end-of-stream path, which is clean).

FalkorDB 4.16 also crashes (SIGSEGV) on a Bolt request larger than about 4 KB (measured:
a 4,050-character parameter passes, 4,100 kills the server). Every query is therefore
checked against `max_message_bytes` before it is sent, and bulk writes go in batches
that fit (`batches`).

And FalkorDB 4.16's Bolt layer pastes string parameters into the query text between
single quotes without escaping them (checked: a parameter `a' RETURN 1 AS x //` returns
x = 1; a trailing backslash escapes the closing quote, so the next parameter runs as
Cypher). Parameters are not enough: every string sent is made quote-free first
(`quote_free`), on both engines, so they store the same data.

Last, FalkorDB's Bolt ignores the session's database (it must be named for the handshake
to succeed) and serves one graph per server, named `db`: one knowledge graph, one
FalkorDB."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import structlog
from neo4j import AsyncDriver, AsyncGraphDatabase
from neo4j.exceptions import ClientError, DatabaseError, DriverError, Neo4jError

from services.ingest.settings import IngestSettings

log = structlog.get_logger()


class GraphError(Exception):
    """A query failed: the graph is unreachable or slow, or it refused the query."""


class GraphUnavailable(GraphError):
    """The graph did not answer (down, restarting, or slower than the query timeout)."""


_UNQUOTE = str.maketrans({"'": "\u2019", "\\": "\u29f5"})


def quote_free(value: Any) -> Any:
    """`value` with every string's quote and backslash replaced by look-alikes (U+2019
    and U+29F5), in lists and maps too: what reaches FalkorDB's query text can then never
    end its string."""
    if isinstance(value, str):
        return value.translate(_UNQUOTE)
    if isinstance(value, list | tuple):
        return [quote_free(item) for item in value]
    if isinstance(value, dict):
        return {key: quote_free(item) for key, item in value.items()}
    return value


def message_bytes(query: str, params: dict[str, Any]) -> int:
    """An upper bound of the Bolt request's size (JSON is wordier than PackStream)."""
    return len(query.encode()) + len(json.dumps(params, default=str).encode())


def batches(
    rows: list[dict[str, Any]], query: str, max_bytes: int
) -> Iterator[list[dict[str, Any]]]:
    """`rows` in consecutive batches whose request (as `rows=batch`) fits `max_bytes`."""
    batch: list[dict[str, Any]] = []
    budget = max_bytes - message_bytes(query, {"rows": []}) - 64  # other parameters
    size = 0
    for row in rows:
        row_size = len(json.dumps(row, default=str).encode()) + 2
        if batch and size + row_size > budget:
            yield batch
            batch, size = [], 0
        batch.append(row)
        size += row_size
    if batch:
        yield batch


class GraphStore:
    def __init__(self, settings: IngestSettings) -> None:
        auth = (settings.graph_user, settings.graph_password) if settings.graph_user else None
        # FalkorDB's handshake fails with credentials: auth=None, and the graph named as
        # the session's database.
        self._driver: AsyncDriver = AsyncGraphDatabase.driver(
            settings.bolt_url,
            auth=auth,
            connection_timeout=settings.query_timeout_s,
            connection_acquisition_timeout=settings.query_timeout_s,
        )
        self.database = settings.graph_name
        self.timeout_s = settings.query_timeout_s
        self.max_message_bytes = settings.max_message_bytes

    async def run(
        self, query: str, timeout_s: float | None = None, **params: Any
    ) -> list[dict[str, Any]]:
        """The query's rows; GraphUnavailable when the graph does not answer within the
        timeout, GraphError when it refuses the query (or it is too large to send)."""
        params = quote_free(params)
        size = message_bytes(query, params)
        if self.max_message_bytes and size > self.max_message_bytes:
            raise GraphError(f"query of ~{size} bytes exceeds max_message_bytes")
        try:
            async with asyncio.timeout(timeout_s or self.timeout_s):
                async with self._driver.session(database=self.database) as session:
                    result = await session.run(query, params)
                    return await result.data()
        except TimeoutError as exc:
            raise GraphUnavailable(f"no answer within {timeout_s or self.timeout_s:g} s") from exc
        except (ClientError, DatabaseError) as exc:
            # The query itself (syntax, schema; FalkorDB reports both as DatabaseError):
            # retrying it will not help.
            raise GraphError(f"{exc.code}: {exc.message}") from exc
        except (Neo4jError, DriverError, OSError) as exc:
            raise GraphUnavailable(f"{type(exc).__name__}: {exc}") from exc

    async def ping(self) -> bool:
        try:
            rows = await self.run("RETURN 1 AS ok")
        except GraphError:
            return False
        return bool(rows) and rows[0]["ok"] == 1

    async def close(self) -> None:
        """Drop the pool's sockets without Bolt GOODBYE (see the module's docstring).
        The pool is private driver API, hence the defensive lookup."""
        pool = getattr(self._driver, "_pool", None)
        for connections in getattr(pool, "connections", {}).values():
            for connection in list(connections):
                connection.kill()
        await self._driver.close()

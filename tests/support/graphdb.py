"""A real FalkorDB (the wheel's redis-server with the falkordb module) for a test, on free
ports: Bolt on a port <= 32767, the only ports where FalkorDB enables it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from deploy.local import Component, bolt_uri, free_port, graphdb_component
from deploy.local.graphdb import MAX_BOLT_PORT


@asynccontextmanager
async def running_graphdb(log_dir: Path) -> AsyncIterator[tuple[Component, str]]:
    """Yields the component (stop() and start() it to restart FalkorDB on the same
    ports, empty: it keeps nothing on disk) and its Bolt URI; stops it on exit."""
    bolt_port = free_port(max_port=MAX_BOLT_PORT)
    graphdb = graphdb_component(free_port(), bolt_port, log_dir)
    await graphdb.start()
    try:
        yield graphdb, bolt_uri(bolt_port)
    finally:
        graphdb.stop()

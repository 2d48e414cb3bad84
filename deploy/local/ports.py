"""Port checks: a component must not start on a port something else already holds."""

from __future__ import annotations

import random
import socket
from collections.abc import Mapping

from deploy.local.errors import PortInUseError


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when a listener could bind `host:port` right now.

    SO_REUSEADDR mirrors what servers set, so a port in TIME_WAIT after a previous run
    counts as free while a live listener (on this address or on all addresses) does not.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def ensure_ports_free(component: str, ports: Mapping[str, int]) -> None:
    """Raise PortInUseError naming the component and the option that moves it."""
    for label, port in ports.items():
        if not port_is_free(port):
            raise PortInUseError(
                f"{component}: {label} {port} is already in use on 127.0.0.1 "
                f"(another stack still running?). Stop whatever holds it or pick another "
                f"port (see `moe run --help`)."
            )


def free_port(max_port: int = 65535) -> int:
    """A port free right now (for tests that need one per component).

    The OS hands out ports from its ephemeral range (32768 and up on Linux); below
    `max_port` (FalkorDB's Bolt port must be <= 32767) random ports are probed instead."""
    if max_port >= 65535:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])
    low = min(10_000, max_port // 2)
    for _ in range(200):
        port = random.randint(low, max_port)
        if port_is_free(port):
            return port
    raise PortInUseError(f"no free port found between {low} and {max_port}")

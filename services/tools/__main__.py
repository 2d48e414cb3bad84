"""`python -m services.tools`: the tools service (Kafka worker, REST and MCP) in one process.

Imports stay inside `main()`: tool worker processes re-import the main module when they
start, and should not pay for the web stack they never use."""

from __future__ import annotations


def main() -> None:
    import uvicorn

    from contracts.lifecycle import STOP_GRACE_S
    from services.tools.app import create_app
    from services.tools.settings import ToolsSettings

    settings = ToolsSettings()
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        loop="uvloop",
        # Open connections get this long after Ctrl-C or SIGTERM; the broker's stop in the
        # lifespan is bounded by the same grace (contracts.lifecycle).
        timeout_graceful_shutdown=int(STOP_GRACE_S),
    )


if __name__ == "__main__":
    main()

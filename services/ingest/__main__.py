"""`python -m services.ingest`: the knowledge graph service (Kafka worker and HTTP API)."""

from __future__ import annotations


def main() -> None:
    import uvicorn

    from contracts.lifecycle import STOP_GRACE_S
    from services.ingest.app import create_app
    from services.ingest.settings import IngestSettings

    settings = IngestSettings()
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

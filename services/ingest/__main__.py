"""`python -m services.ingest`: the knowledge graph service (Kafka worker and HTTP API)."""

from __future__ import annotations


def main() -> None:
    from contracts.lifecycle import serve_http
    from services.ingest.app import create_app
    from services.ingest.settings import IngestSettings

    settings = IngestSettings()
    serve_http(create_app(settings), settings.host, settings.port)


if __name__ == "__main__":
    main()

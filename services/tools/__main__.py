"""`python -m services.tools`: the tools service (Kafka worker, REST and MCP) in one process.

Imports stay inside `main()`: tool worker processes re-import the main module when they
start, and should not pay for the web stack they never use."""

from __future__ import annotations


def main() -> None:
    from contracts.lifecycle import serve_http
    from services.tools.app import create_app
    from services.tools.settings import ToolsSettings

    settings = ToolsSettings()
    serve_http(create_app(settings), settings.host, settings.port)


if __name__ == "__main__":
    main()

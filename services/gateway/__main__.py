"""`python -m services.gateway`: serve the OpenAI-compatible API."""

from __future__ import annotations

from contracts.lifecycle import serve_http
from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings


def main() -> None:
    settings = GatewaySettings()
    serve_http(create_app(settings), settings.host, settings.port, log_level="warning")


if __name__ == "__main__":
    main()

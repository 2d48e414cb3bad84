"""`python -m services.gateway`: serve the OpenAI-compatible API."""

from __future__ import annotations

import uvicorn

from contracts.lifecycle import STOP_GRACE_S
from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings


def main() -> None:
    settings = GatewaySettings()
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        loop="uvloop",
        # Open streams get this long to finish after Ctrl-C or SIGTERM; the broker's stop
        # in the lifespan is bounded by the same grace (contracts.lifecycle).
        timeout_graceful_shutdown=int(STOP_GRACE_S),
    )


if __name__ == "__main__":
    main()

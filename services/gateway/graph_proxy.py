"""GET /v1/graph/stats and /v1/graph/search: the knowledge graph's read-only views,
authenticated here and answered by the ingest service's HTTP API (GATEWAY_GRAPH_URL),
which is told the caller's tenant. Services share only contracts/, so the gateway
relays over HTTP, as it would to any backend; the ingest service's answers (its OpenAI
error objects included) pass through unchanged."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse

from services.gateway.errors import ApiError

TENANT_HEADER = "X-Moe-Tenant"  # the ingest service's API trusts it: loopback/private only
MAX_QUERY_CHARS = 200
MAX_LIMIT = 50


class GraphProxy:
    """One keep-alive client to the ingest service, closed with the gateway."""

    def __init__(self, base_url: str, timeout_s: float) -> None:
        self.enabled = bool(base_url.strip())
        self._http = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout_s)

    async def get(self, path: str, tenant: str, params: dict[str, Any]) -> JSONResponse:
        if not self.enabled:
            raise ApiError(404, "The knowledge graph is not configured.", code="not_found")
        try:
            response = await self._http.get(path, params=params, headers={TENANT_HEADER: tenant})
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            message = f"The knowledge graph service did not answer ({type(exc).__name__})."
            raise ApiError(503, message, code="graph_unavailable") from exc
        return JSONResponse(body, status_code=response.status_code)

    async def aclose(self) -> None:
        await self._http.aclose()


def graph_router(proxy: GraphProxy, tenant_of: Callable[[str | None], str]) -> APIRouter:
    """`tenant_of(authorization header)` authenticates the caller (401 otherwise)."""
    router = APIRouter()

    @router.get("/v1/graph/stats")
    async def graph_stats(authorization: str | None = Header(default=None)) -> JSONResponse:
        return await proxy.get("/graph/stats", tenant_of(authorization), {})

    @router.get("/v1/graph/search")
    async def graph_search(
        q: str = Query(min_length=1, max_length=MAX_QUERY_CHARS),
        limit: int = Query(default=10, ge=1, le=MAX_LIMIT),
        authorization: str | None = Header(default=None),
    ) -> JSONResponse:
        return await proxy.get("/graph/search", tenant_of(authorization), {"q": q, "limit": limit})

    return router

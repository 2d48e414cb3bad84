"""The service's small HTTP API, which the gateway proxies (authenticated, per tenant) as
GET /v1/graph/stats and /v1/graph/search: read-only and bounded. The gateway names the
caller's tenant in the X-Moe-Tenant header; this API listens on loopback (or a private
network) and trusts it. Errors are OpenAI error objects."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse

from contracts.graph_terms import words
from contracts.http_errors import error_body
from services.ingest.browse import search, stats
from services.ingest.graph import GraphError, GraphStore
from services.ingest.knowledge import Knowledge
from services.ingest.settings import IngestSettings

TENANT_HEADER = "X-Moe-Tenant"
MAX_QUERY_CHARS = 200


def error_response(status: int, message: str, code: str, param: str | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, message, code, param), status_code=status)


def unavailable(exc: GraphError) -> JSONResponse:
    return error_response(503, f"The knowledge graph is unavailable: {exc}", "graph_unavailable")


def build_http_router(
    settings: IngestSettings, store: GraphStore, knowledge: Knowledge
) -> APIRouter:
    router = APIRouter()

    @router.get("/health/live")
    async def live() -> dict[str, Any]:
        """The process serves HTTP; says nothing about the graph."""
        return {"status": "alive", "service": "ingest", "worker_id": settings.worker_id}

    @router.get("/health", response_model=None)
    async def health() -> dict[str, Any] | JSONResponse:
        """200 when the graph answers and holds the base ontology."""
        reachable = await store.ping()
        body = {
            "status": "ok" if reachable and knowledge.base_ready.is_set() else "unavailable",
            "graph": "reachable" if reachable else "unreachable",
            "ontology_loaded": knowledge.base_ready.is_set(),
            "conflicts_seen": knowledge.conflicts,
        }
        return body if body["status"] == "ok" else JSONResponse(body, status_code=503)

    @router.get("/graph/stats", response_model=None)
    async def graph_stats(
        tenant: str = Header(default="default", alias=TENANT_HEADER),
    ) -> dict[str, Any] | JSONResponse:
        try:
            return await stats(store, tenant)
        except GraphError as exc:
            return unavailable(exc)

    @router.get("/graph/search", response_model=None)
    async def graph_search(
        q: str = Query(default="", max_length=MAX_QUERY_CHARS),
        limit: int = Query(default=10, ge=1),
        tenant: str = Header(default="default", alias=TENANT_HEADER),
    ) -> dict[str, Any] | JSONResponse:
        if not words(q):
            return error_response(
                400, "q must name something to search for.", "invalid_request", "q"
            )
        if limit > settings.search_max_limit:
            message = f"limit must be at most {settings.search_max_limit}."
            return error_response(400, message, "invalid_request", "limit")
        try:
            found = await search(store, tenant, q, limit)
        except GraphError as exc:
            return unavailable(exc)
        return {"object": "list", "query": q, "data": found}

    return router

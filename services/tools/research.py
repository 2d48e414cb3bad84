"""Web research through a SearXNG instance's JSON API: the top results of the plan's search
query become numbered citations the merger can quote and the judge can cite."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

import httpx
import structlog
from pydantic import BaseModel, ValidationError

from contracts.events import TaskAssigned, TaskResult
from services.tools.settings import ToolsSettings

log = structlog.get_logger()
MAX_QUERY_CHARS = 400
MAX_SNIPPET_CHARS = 400


class SearchHit(BaseModel):
    title: str = ""
    url: str
    content: str = ""


class SearchError(Exception):
    """The search could not be answered; the message is what the TaskResult reports."""


def citations(hits: list[SearchHit]) -> str:
    blocks = []
    for number, hit in enumerate(hits, start=1):
        snippet = " ".join(hit.content.split())[:MAX_SNIPPET_CHARS]
        blocks.append(f"[{number}] {hit.title.strip() or hit.url} — {hit.url}\n    {snippet}")
    return "\n".join(blocks)


class Research:
    """SearXNG client; the HTTP client lives between `__aenter__` and `__aexit__`."""

    def __init__(self, settings: ToolsSettings) -> None:
        self.base_url = settings.searxng_url.strip().rstrip("/")
        self.max_results = settings.research_results
        self.timeout = settings.research_timeout
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> Research:
        self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=True)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def search(self, query: str) -> list[SearchHit]:
        if self._client is None:
            raise RuntimeError("Research is used outside its `async with` block")
        params = {"q": query[:MAX_QUERY_CHARS], "format": "json"}
        try:
            response = await self._client.get(f"{self.base_url}/search", params=params)
            response.raise_for_status()
            payload: Any = response.json()
        except httpx.TimeoutException:
            raise SearchError(f"search timed out after {self.timeout:g} s") from None
        except httpx.HTTPStatusError as exc:
            raise SearchError(f"SearXNG answered HTTP {exc.response.status_code}") from None
        except httpx.HTTPError as exc:
            raise SearchError(f"search failed: {type(exc).__name__}: {exc}") from None
        except ValueError:
            raise SearchError("SearXNG did not answer JSON (is format=json enabled?)") from None
        return self._hits(payload)

    def _hits(self, payload: Any) -> list[SearchHit]:
        raw = payload.get("results") if isinstance(payload, dict) else None
        if not isinstance(raw, list):
            raise SearchError("SearXNG answer has no results list")
        hits = []
        for item in raw:
            try:
                hits.append(SearchHit.model_validate(item))
            except ValidationError:
                continue  # one malformed entry does not spoil the others
            if len(hits) >= self.max_results:
                break
        return hits

    async def run_task(self, event: TaskAssigned, worker_id: str) -> TaskResult:
        spec = event.task
        query = (spec.search_query or spec.task).strip()
        started = time.time()
        fields: dict[str, Any] = {"worker_id": worker_id, "model": "searxng", "started_at": started}
        try:
            if not query:
                raise SearchError("the task has no search query")
            hits = await self.search(query)
            if not hits:
                raise SearchError(f"no results for {query!r}")
        except SearchError as exc:
            log.info("research_failed", task_id=spec.id, error=str(exc))
            return TaskResult.answering(event, **fields, error=str(exc))
        return TaskResult.answering(event, **fields, output=citations(hits), confidence="medium")

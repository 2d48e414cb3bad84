"""The precision tools the planner may plan, learned from the tools service at run
time (GET /tools), so a tool added there needs no change here."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

import httpx
import jsonschema
import structlog

log = structlog.get_logger()


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]


class ToolCatalog:
    """Refreshed in the background; empty (no tool plans) while the service is away.
    An operator's tool switch (moe.tool_switches) applies at once, not at the next
    refresh: a disabled tool leaves the catalog when the switch is read."""

    def __init__(self, tools_url: str, refresh_s: float = 30.0) -> None:
        self._url = tools_url.rstrip("/")
        self._refresh_s = refresh_s
        self._tools: dict[str, ToolSpec] = {}
        self._disabled: set[str] = set()
        self._switched = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.last_error: str | None = None
        """Why the last refresh failed; None once one succeeded."""

    def switched(self, tool: str, enabled: bool) -> None:
        """Apply a tool switch: drop a disabled tool now (and keep it out of refreshes
        from a tools instance that has not read the switch yet); fetch the catalog again
        at once for an enabled one."""
        if enabled:
            self._disabled.discard(tool)
            self._switched.set()
        else:
            self._disabled.add(tool)
            self._tools.pop(tool, None)

    def get(self, name: str) -> ToolSpec | None:
        return self._tools.get(name)

    def names(self) -> list[str]:
        return sorted(self._tools)

    def check(self, name: str, args: dict[str, Any]) -> str | None:
        """Why `args` cannot be sent to tool `name` (unknown, or against its published
        JSON schema), or None when they can."""
        spec = self._tools.get(name)
        if spec is None:
            return f"no tool named {name!r} in the catalog"
        error = jsonschema.exceptions.best_match(
            jsonschema.Draft202012Validator(spec.parameters).iter_errors(args)
        )
        return None if error is None else f"{name}: {error.message}"

    async def refresh(self, client: httpx.AsyncClient) -> None:
        try:
            response = await client.get(f"{self._url}/tools")
            response.raise_for_status()
            listed = response.json()["tools"]
            self._tools = {
                t["name"]: ToolSpec(t["name"], t["description"], t["parameters"])
                for t in listed
                if t["name"] not in self._disabled
            }
            self.last_error = None
        except (httpx.HTTPError, KeyError, TypeError, ValueError) as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("tool_catalog_unavailable", url=self._url, error=self.last_error)

    async def _refresh_forever(self) -> None:
        async with httpx.AsyncClient(timeout=5.0) as client:
            while True:
                # Whatever a refresh meets, the loop goes on: ending it would leave this
                # planner without tools until it restarts.
                try:
                    await self.refresh(client)
                except Exception as exc:
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    log.exception("tool_catalog_refresh_failed", url=self._url)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._switched.wait(), self._refresh_s if self._tools else 2.0
                    )
                self._switched.clear()

    async def start(self) -> None:
        if self._url and self._task is None:
            self._task = asyncio.create_task(self._refresh_forever())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

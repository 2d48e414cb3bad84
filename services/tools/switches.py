"""Tool switches: an operator can turn a tool off (and on again) at run time.

A switched-off tool vanishes from GET /tools (so from the planner's catalog) and MCP
tools/list, and a direct call gets `tool_disabled`. TOOLS_DISABLED_TOOLS sets the state a
service starts with; the admin route publishes a ToolSwitched event on the compacted
moe.tool_switches topic, which every tools instance reads from its start (no consumer
group: each instance sees every switch), so a switch holds on all of them. The latest
switch of a tool wins over the setting."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import structlog
from faststream import AckPolicy
from faststream.kafka import KafkaRouter

from contracts.events import ToolSwitched
from contracts.topics import TOOL_SWITCHES
from contracts.wire import FETCH_MAX_WAIT_MS
from services.tools.registry import ToolError

log = structlog.get_logger()


class ToolSwitches:
    """Which tools are on, in this process."""

    def __init__(self, disabled: Iterable[str] = (), known: Iterable[str] | None = None) -> None:
        self._configured = frozenset(disabled)
        unknown = sorted(self._configured - set(known)) if known is not None else []
        if unknown:  # a typo would otherwise leave the tool on without a word
            raise ValueError(f"TOOLS_DISABLED_TOOLS names no such tool: {', '.join(unknown)}")
        self._switched: dict[str, bool] = {}

    def enabled(self, name: str) -> bool:
        return self._switched.get(name, name not in self._configured)

    def disabled(self) -> list[str]:
        names = self._configured | self._switched.keys()
        return sorted(name for name in names if not self.enabled(name))

    def check(self, name: str) -> None:
        if not self.enabled(name):
            raise ToolError(
                f"the tool {name!r} is switched off by the operator", "tool", "tool_disabled"
            )

    def visible(self, specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [spec for spec in specs if self.enabled(spec["name"])]

    def apply(self, event: ToolSwitched) -> None:
        if self._switched.get(event.tool) != event.enabled:
            log.info("tool_switched", tool=event.tool, enabled=event.enabled, reason=event.reason)
        self._switched[event.tool] = event.enabled


def build_switch_router(switches: ToolSwitches) -> KafkaRouter:
    router = KafkaRouter()

    # No group: every instance reads the whole (compacted) topic from the beginning, so a
    # switch made before it started still holds. Nothing is committed (no group), and a
    # replay only re-applies the same states.
    @router.subscriber(
        TOOL_SWITCHES,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.MANUAL,
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
    )
    async def on_switch(event: ToolSwitched) -> None:
        switches.apply(event)

    return router

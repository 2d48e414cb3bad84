"""From a request (HTTP, MCP or a Kafka task) to a tool result: arguments are checked in
the calling process, so bad input is refused without a round trip; the work itself runs
in the worker pool under the tool's time limit."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from contracts.events import TaskAssigned, TaskResult
from services.tools.catalog import MATH_NODE, MATH_TEXT, TOOLS, get_tool
from services.tools.pool import WorkerPool
from services.tools.registry import Result, ToolError
from services.tools.switches import ToolSwitches

log = structlog.get_logger()
MAX_OUTPUT_CHARS = 8_000


def render(name: str, result: Result) -> str:
    """Result as 'key: value' lines the merger can quote verbatim."""
    lines = [name]
    for key, value in result.items():
        if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
            shown = ", ".join(str(v) for v in value) if value else "(none)"
        elif isinstance(value, dict | list):
            shown = json.dumps(value, ensure_ascii=False)
        else:
            shown = str(value)
        lines.append(f"{key}: {shown}")
    text = "\n".join(lines)
    return text if len(text) <= MAX_OUTPUT_CHARS else text[:MAX_OUTPUT_CHARS] + "\n[truncated]"


def result_hash(result: Result) -> str:
    """sha256 of the canonical JSON (sorted keys, no spaces, UTF-8): equal results hash
    equally whichever interface or instance produced them."""
    canonical = json.dumps(result, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ToolCall:
    """One answered call, as REST and MCP report it: the tool's version, the input after
    validation and defaults (what was actually computed), and the typed result."""

    tool: str
    version: str
    input: dict[str, Any]
    result: Result

    @property
    def result_hash(self) -> str:
        return result_hash(self.result)

    def envelope(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "version": self.version,
            "input": self.input,
            "structured_result": self.result,
            "result_hash": self.result_hash,
        }


class ToolRunner:
    def __init__(
        self, pool: WorkerPool, timeout: float, switches: ToolSwitches | None = None
    ) -> None:
        self.pool = pool
        self.timeout = timeout
        self.switches = switches or ToolSwitches()

    async def call(self, name: str, args: Mapping[str, Any] | None) -> ToolCall:
        tool = get_tool(name)
        self.switches.check(name)
        parsed = tool.parse(args)
        limit = min(tool.timeout or self.timeout, self.timeout)
        payload = parsed.model_dump(mode="json")
        result = await self.pool.run(name, payload, limit, tool.timeout_argument)
        return ToolCall(name, tool.version, payload, result)

    async def invoke(self, name: str, args: Mapping[str, Any] | None) -> Result:
        return (await self.call(name, args)).result

    async def math_from_task(self, task: str) -> Result:
        self.switches.check(MATH_NODE)
        return await self.pool.run(MATH_TEXT, {"task": task[:2000]}, self.timeout, "task")

    async def _dispatch(self, event: TaskAssigned) -> tuple[str, Result]:
        spec = event.task
        if spec.tool:
            return spec.tool, await self.invoke(spec.tool, spec.args)
        if spec.category == "math":
            # Structured math-node arguments when the planner gave them, else the words.
            if spec.args and "operation" in spec.args:
                return MATH_NODE, await self.invoke(MATH_NODE, spec.args)
            return MATH_NODE, await self.math_from_task(spec.task)
        raise ToolError("the task names no tool and is not a math task", "tool", "unknown_tool")

    async def run_task(self, event: TaskAssigned, worker_id: str) -> TaskResult:
        spec = event.task
        started = time.time()
        fields: dict[str, Any] = {"worker_id": worker_id, "started_at": started}
        name = spec.tool or (MATH_NODE if spec.category == "math" else "tools")
        try:
            if event.deadline_at is not None and started > event.deadline_at:
                raise ToolError("the request's deadline passed before the tool ran")
            name, result = await self._dispatch(event)
        except ToolError as exc:
            log.info("tool_task_failed", task_id=spec.id, tool=name, error=str(exc))
            return TaskResult.answering(
                event, **fields, model=f"tool:{name}", error=f"{name}: {exc}"
            )
        output = render(name, result)
        exact = TOOLS[name].exact_values(result)
        return TaskResult.answering(
            event,
            **fields,
            model=f"tool:{name}",
            output=output,
            confidence="high",
            exact_values=exact,
            result_hash=result_hash(result),
        )

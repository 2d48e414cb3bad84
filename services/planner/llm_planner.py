"""The LLM planner: for what the caches, precision routing and the router do not settle,
the judge model splits the request into 1-4 tasks through structured output (a JSON
schema in `response_format`, which vLLM, llama.cpp and Ollama accept).

Every entry is checked: unknown categories, tools missing from the live catalog, tool
arguments against the tool's published schema, a second research task, an empty task:
each such entry is dropped and logged. A timeout, an error, invalid JSON or nothing valid
left is a `PlannerFailure`, and the caller falls back to one general task."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
import structlog

from contracts import ChatMessage, TaskSpec
from contracts.inference import InferenceServer
from services.planner.tool_catalog import ToolCatalog

log = structlog.get_logger()

MAX_TASKS = 4
MAX_TASK_CHARS = 300
MAX_PLAN_TOKENS = 500
CONTEXT_TURNS = 4
CONTEXT_CHARS = 2000

RULES = """You plan how to answer a user's request. Split it into 1 to 4 independent tasks.
Each task has: id (t1, t2, ...), task (a full task description in words, never a list of
keywords), category (one of: {categories}).
Rules:
- Use a precision tool for exact work (calculation, dates, units, hashes, encodings, data
  and text statistics): set "tool" to its name and "args" to its exact arguments. Precision
  tools beat the math category: never plan both for the same part.
- Use "search_query" only for current or external facts (news, prices, recent events), and
  at most once.
- One task is right for a simple request; split only what needs different skills.
Tools:
{tools}
Answer with JSON only."""


class PlannerFailure(Exception):
    """The planner model gave no usable plan; the reason goes into the plan event."""


@dataclass(frozen=True)
class LlmPlan:
    tasks: list[TaskSpec]
    dropped: list[str]
    """Why each dropped entry was dropped."""


_SCALAR: list[dict[str, Any]] = [
    {"type": "string", "maxLength": MAX_TASK_CHARS},
    {"type": "number"},
    {"type": "boolean"},
]
# Flat arguments of bounded values (a list of numbers or texts at most): every precision
# tool's arguments fit (a JSON document goes as text), and a free-form object would let
# a small model nest and repeat itself until cut off.
ARGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "maxProperties": 6,
    "additionalProperties": {
        "anyOf": [*_SCALAR, {"type": "array", "items": {"anyOf": _SCALAR}, "maxItems": 100}]
    },
}


def plan_schema(categories: list[str], tools: list[str]) -> dict[str, Any]:
    task: dict[str, Any] = {
        "type": "object",
        # Bounded strings: constrained decoding then always ends, where a small model
        # would otherwise repeat itself inside one string until max_tokens cut it off.
        "properties": {
            "id": {"type": "string", "maxLength": 8},
            "task": {"type": "string", "minLength": 1, "maxLength": MAX_TASK_CHARS},
            "category": {"type": "string", "enum": categories},
            "tool": {"type": "string", "enum": tools} if tools else {"type": "string"},
            "args": ARGS_SCHEMA,
            "search_query": {"type": "string", "maxLength": MAX_TASK_CHARS},
        },
        "required": ["id", "task", "category"],
    }
    return {
        "type": "object",
        "properties": {
            "tasks": {"type": "array", "items": task, "minItems": 1, "maxItems": MAX_TASKS}
        },
        "required": ["tasks"],
    }


def _context(messages: list[ChatMessage]) -> str:
    """The turns before the last user message, newest kept when trimming."""
    earlier = [m for m in messages[:-1] if m.role in ("user", "assistant")][-CONTEXT_TURNS:]
    lines: list[str] = []
    budget = CONTEXT_CHARS
    for message in reversed(earlier):
        line = f"{message.role}: {message.content}"
        if len(line) > budget:
            break
        budget -= len(line)
        lines.insert(0, line)
    return "\n".join(lines)


class LlmPlanner:
    def __init__(
        self,
        server: InferenceServer,
        model: str,
        categories: list[str],
        catalog: ToolCatalog,
        timeout_s: float,
        research: bool,
    ) -> None:
        self._server = server
        self._model = model
        self._categories = categories
        self._catalog = catalog
        self._timeout_s = timeout_s
        self._research = research
        self._client = httpx.AsyncClient(
            timeout=timeout_s, headers={"Authorization": f"Bearer {server.token}"}
        )

    def _prompt(self, question: str, messages: list[ChatMessage]) -> list[dict[str, str]]:
        # Names and argument names only: the full schemas would fill a small model's
        # context; the arguments are checked against them afterwards.
        tools = "\n".join(
            f"- {spec.name}({', '.join(spec.parameters.get('properties', {}))}): {spec.description}"
            for name in self._catalog.names()
            if (spec := self._catalog.get(name)) is not None
        )
        system = RULES.format(categories=", ".join(self._categories), tools=tools or "(none)")
        context = _context(messages)
        user = f"Conversation so far:\n{context}\n\nRequest: {question}" if context else question
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    async def plan(self, request_id: str, question: str, messages: list[ChatMessage]) -> LlmPlan:
        body = {
            "model": self._model,
            "messages": self._prompt(question, messages),
            "temperature": 0,
            "max_tokens": MAX_PLAN_TOKENS,
            "stream": False,
            "response_format": {
                "type": "json_schema",
                "json_schema": {
                    "name": "plan",
                    "strict": True,
                    "schema": plan_schema(self._categories, self._catalog.names()),
                },
            },
        }
        try:
            response = await self._client.post(
                f"{self._server.url.rstrip('/')}/chat/completions", json=body
            )
            response.raise_for_status()
            [choice] = response.json()["choices"]
            content = choice["message"]["content"]
        except httpx.TimeoutException:
            raise PlannerFailure(f"planner model timed out after {self._timeout_s:g} s") from None
        except (httpx.HTTPError, KeyError, TypeError, ValueError) as exc:
            raise PlannerFailure(f"planner model call failed: {type(exc).__name__}") from None
        if choice.get("finish_reason") == "length":
            raise PlannerFailure(f"planner output cut off at {MAX_PLAN_TOKENS} tokens")
        return self.parse(request_id, content)

    def parse(self, request_id: str, content: str) -> LlmPlan:
        try:
            entries = json.loads(content)["tasks"]
        except (json.JSONDecodeError, KeyError, TypeError):
            raise PlannerFailure("planner output is not JSON with a tasks list") from None
        if not isinstance(entries, list):
            raise PlannerFailure("planner output's tasks is not a list")
        tasks: list[TaskSpec] = []
        dropped: list[str] = []
        for entry in entries[:MAX_TASKS]:
            task, reason = self._task(request_id, len(tasks) + 1, entry, tasks)
            if task is None:
                dropped.append(reason)
                log.info("planner_entry_dropped", request_id=request_id, reason=reason)
            else:
                tasks.append(task)
        if not tasks:
            raise PlannerFailure("no valid task in planner output: " + "; ".join(dropped))
        return LlmPlan(tasks, dropped)

    def _task(
        self, request_id: str, number: int, entry: Any, planned: list[TaskSpec]
    ) -> tuple[TaskSpec | None, str]:
        if not isinstance(entry, dict):
            return None, "entry is not an object"
        text = str(entry.get("task") or "").strip()
        category = str(entry.get("category") or "")
        task_id = f"{request_id}:{number}"
        if not text:
            return None, "empty task"
        tool, args, query = entry.get("tool"), entry.get("args"), entry.get("search_query")
        if tool:
            arguments = args if isinstance(args, dict) else {}
            problem = self._catalog.check(str(tool), arguments)
            if problem is not None:
                return None, problem
            name = str(tool)
            spec = TaskSpec(
                id=task_id, task=text, category="tool", worker="tool", tool=name, args=arguments
            )
            return spec, ""
        if category not in self._categories:
            return None, f"unknown category {category!r}"
        if query:
            if not self._research:
                return None, "research is not available"
            if any(t.worker == "research" for t in planned):
                return None, "a second research task"
            spec = TaskSpec(
                id=task_id, task=text, category=category, worker="research", search_query=str(query)
            )
            return spec, ""
        return TaskSpec(id=task_id, task=text, category=category), ""

    async def aclose(self) -> None:
        await self._client.aclose()

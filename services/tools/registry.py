"""What a tool is: a name, a description the planner reads, a pydantic argument model whose
JSON schema is published, a pure function from validated arguments to a JSON result, and
the declared shape of that result (published as `output_schema`, checked on every call)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

ErrorCode = Literal[
    "invalid_argument",
    "unknown_tool",
    "timeout",
    "resource_limit",
    "result_too_large",
    "tool_disabled",
    "internal",
]
Result = dict[str, Any]
MAX_EXACT_VALUES = 20


class ToolError(Exception):
    """A tool call that cannot produce a result; `argument` names the culprit if one is."""

    def __init__(
        self,
        message: str,
        argument: str | None = None,
        code: ErrorCode = "invalid_argument",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.argument = argument
        self.code = code

    def __str__(self) -> str:
        return f"{self.argument}: {self.message}" if self.argument else self.message

    def to_wire(self) -> tuple[str, str | None, str]:
        """Picklable form, so worker processes can hand errors back over a pipe."""
        return (self.message, self.argument, self.code)

    @classmethod
    def from_wire(cls, wire: tuple[str, str | None, str]) -> ToolError:
        message, argument, code = wire
        return cls(message, argument, code)  # type: ignore[arg-type]


class ToolArgs(BaseModel):
    """Base of every argument model: unknown arguments are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)


ArgsT = TypeVar("ArgsT", bound=ToolArgs)


@dataclass(frozen=True)
class Tool(Generic[ArgsT]):
    name: str
    description: str
    args: type[ArgsT]
    func: Callable[[ArgsT], Result]
    timeout: float | None = None
    """Tighter per-call limit than the service default, for tools that can run away."""
    timeout_argument: str | None = None
    """The argument blamed when the call runs out of time (e.g. a regex pattern)."""
    returns: Mapping[str, Any] = field(default_factory=dict)
    """Result fields as pydantic field definitions: name -> (type, default or ...)."""
    exact: tuple[str, ...] = ("result",)
    """Result fields holding the exact values no model may restate differently."""
    version: str = "1.0"
    """Bumped when the tool's arguments or result change shape or meaning."""

    def parse(self, raw: Mapping[str, Any] | None) -> ArgsT:
        try:
            return self.args.model_validate(dict(raw or {}))
        except ValidationError as exc:
            raise validation_error(exc) from None

    def run(self, raw: Mapping[str, Any] | None) -> Result:
        return self.check_output(self.func(self.parse(raw)))

    @cached_property
    def output_model(self) -> type[BaseModel]:
        config = ConfigDict(extra="forbid", strict=True)
        model: type[BaseModel] = create_model(
            f"{self.name}_result", __config__=config, **dict(self.returns)
        )
        return model

    def check_output(self, result: Result) -> Result:
        """The result, unchanged, once it matches the published schema: a mismatch is a
        bug in the tool, reported as one rather than handed to a caller."""
        try:
            self.output_model.model_validate(result)
        except ValidationError as exc:
            detail = exc.errors(include_url=False)[0]
            message = f"result breaks its schema at {detail['loc']}: {detail['msg']}"
            raise ToolError(message, None, "internal") from None
        return result

    def exact_values(self, result: Result) -> list[str]:
        """The `exact` fields' values as text, for the merger's precision guard: scalars
        and the scalars of lists, never booleans or empty text."""
        values: list[str] = []
        for key in self.exact:
            value = result.get(key)
            items = value if isinstance(value, list) else [value]
            values += [
                str(v)
                for v in items
                if isinstance(v, int | float | str) and not isinstance(v, bool) and v != ""
            ]
        shown = [v for v in dict.fromkeys(values) if len(v) <= 200]
        return shown[:MAX_EXACT_VALUES]

    def spec(self) -> dict[str, Any]:
        """The shape the planner, GET /tools and MCP tools/list all publish."""
        return {
            "name": self.name,
            "description": self.description,
            "version": self.version,
            "parameters": self.args.model_json_schema(),
            "output_schema": self.output_model.model_json_schema(),
        }


def validation_error(exc: ValidationError) -> ToolError:
    """The first problem pydantic found, phrased for a caller and naming the argument."""
    first = exc.errors(include_url=False)[0]
    loc = first.get("loc") or ()
    argument = str(loc[0]) if loc else None
    detail = ".".join(str(part) for part in loc[1:])
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    if first.get("type") == "extra_forbidden":
        message = "unknown argument"
    if detail:
        message = f"{message} (at {detail})"
    return ToolError(message, argument)

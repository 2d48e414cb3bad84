"""structured_validate: is a JSON, YAML, XML or CSV text well formed (and, for JSON and
YAML, valid against an inline JSON Schema)? The answer is counts, a hash and the error's
position: the payload itself is never echoed back.

Constructs that make a small text expensive or reach outside it are refused, not parsed:
YAML anchors, aliases and explicit tags; XML DTDs, entities and XInclude (defusedxml);
a schema `$ref` to anything but a location inside the given schema."""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
from collections.abc import Iterator
from typing import Any, Literal
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_xml
import yaml
from defusedxml import DefusedXmlException
from jsonschema import SchemaError, validators
from pydantic import BaseModel, Field, field_validator
from referencing import Registry
from referencing.exceptions import Unresolvable

from services.tools.registry import Result, Tool, ToolArgs, ToolError

Format = Literal["json", "yaml", "xml", "csv"]
MAX_TEXT = 1_000_000
MAX_YAML = 200_000  # PyYAML parses in pure Python: about 5 s per megabyte here
MAX_DEPTH = 200
MAX_SCHEMA_CHARS = 100_000
MAX_SCHEMA_ERRORS = 20
XINCLUDE = "{http://www.w3.org/2001/XInclude}"
_REF_KEYS = ("$ref", "$dynamicRef", "$recursiveRef")
_JSON_TYPES = {
    dict: "object",
    list: "array",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


class ValidateArgs(ToolArgs):
    format: Format = Field(description="json, yaml, xml or csv.")
    text: str = Field(max_length=MAX_TEXT, description="The document, as text.")
    json_schema: dict[str, Any] | None = Field(
        default=None,
        description="JSON Schema (draft 2020-12 unless $schema says) for json or yaml; "
        "$ref may only point inside it ('#/...').",
    )
    delimiter: str = Field(default=",", min_length=1, max_length=1, description="CSV only.")

    @field_validator("json_schema")
    @classmethod
    def _shallow(cls, schema: dict[str, Any] | None) -> dict[str, Any] | None:
        if schema is not None and _depth(schema) > MAX_DEPTH:
            raise ValueError(f"the schema is nested deeper than {MAX_DEPTH} levels")
        return schema


class Position(BaseModel):
    line: int | None
    column: int | None


class Malformed(Exception):
    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


def _depth(document: Any) -> int:
    deepest, stack = 0, [(document, 1)]
    while stack and deepest <= MAX_DEPTH:
        node, level = stack.pop()
        deepest = max(deepest, level)
        children = node.values() if isinstance(node, dict) else node
        if isinstance(node, dict | list):
            stack.extend((child, level + 1) for child in children)
    return deepest


def _tree_summary(document: Any) -> dict[str, Any]:
    """Counts of a JSON-like tree, walked with a stack so depth cannot recurse."""
    counts = {"objects": 0, "arrays": 0, "keys": 0, "scalars": 0, "depth": 0}
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        node, level = stack.pop()
        counts["depth"] = max(counts["depth"], level)
        if level > MAX_DEPTH:
            raise ToolError(f"the document is nested deeper than {MAX_DEPTH} levels", "text")
        if isinstance(node, dict):
            counts["objects"] += 1
            counts["keys"] += len(node)
            stack.extend((child, level + 1) for child in node.values())
        elif isinstance(node, list):
            counts["arrays"] += 1
            stack.extend((child, level + 1) for child in node)
        else:
            counts["scalars"] += 1
    return {"top_level": _JSON_TYPES.get(type(document), "string"), **counts}


def _not_json(constant: str) -> Any:
    raise Malformed(f"{constant} is not a JSON value")


def _json(text: str) -> Any:
    try:
        return json.loads(text, parse_constant=_not_json)
    except json.JSONDecodeError as exc:
        raise Malformed(exc.msg, exc.lineno, exc.colno) from None
    except RecursionError:
        raise ToolError(f"the document is nested deeper than {MAX_DEPTH} levels", "text") from None


def _yaml_events(text: str) -> Iterator[yaml.Event]:
    try:
        yield from yaml.parse(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        raise Malformed(str(exc.problem or exc.context or "malformed YAML"), line, column) from None
    except yaml.YAMLError as exc:
        raise Malformed(str(exc)) from None


def _yaml(text: str) -> Any:
    if len(text) > MAX_YAML:
        raise ToolError(f"YAML is limited to {MAX_YAML:,} characters", "text")
    # Checked on the event stream, before anything is built: an alias can expand a few
    # lines into billions of nodes, a tag can name a constructor, and nesting recurses.
    depth = 0
    for event in _yaml_events(text):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise ToolError(f"the document is nested deeper than {MAX_DEPTH} levels", "text")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise ToolError("YAML anchors and aliases are refused", "text")
        if getattr(event, "tag", None) is not None and not _implicit(event):
            raise ToolError("explicit YAML tags are refused", "text")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise Malformed(str(exc)) from None
    except RecursionError:
        raise ToolError(f"the document is nested deeper than {MAX_DEPTH} levels", "text") from None


def _implicit(event: yaml.Event) -> bool:
    implicit = getattr(event, "implicit", False)
    return bool(implicit[0] if isinstance(implicit, tuple) else implicit)


def _xml(text: str) -> dict[str, Any]:
    try:
        root: Element = safe_xml.fromstring(text, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise ToolError(f"refused XML construct: {type(exc).__name__}", "text") from None
    except ParseError as exc:
        line, column = exc.position
        raise Malformed(str(exc).split(":")[0], line, column + 1) from None
    counts = {"elements": 0, "attributes": 0, "text_nodes": 0, "depth": 0}
    stack = [(root, 1)]
    while stack:
        element, level = stack.pop()
        if str(element.tag).startswith(XINCLUDE):
            raise ToolError("XInclude is refused", "text")
        counts["elements"] += 1
        counts["attributes"] += len(element.attrib)
        counts["text_nodes"] += bool((element.text or "").strip())
        counts["depth"] = max(counts["depth"], level)
        stack.extend((child, level + 1) for child in element)
    return counts


def _csv(text: str, delimiter: str) -> dict[str, Any]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    widths: list[int] = []
    try:
        widths = [len(row) for row in reader]
    except csv.Error as exc:
        raise Malformed(str(exc), reader.line_num, None) from None
    filled = [w for w in widths if w]
    return {
        "rows": len(filled),
        "columns": filled[0] if filled else 0,
        "consistent": len(set(filled)) <= 1,
        "empty_rows": len(widths) - len(filled),
    }


def _local_refs_only(schema: Any) -> None:
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key in _REF_KEYS:
                ref = node.get(key)
                if ref is not None and not (isinstance(ref, str) and ref.startswith("#")):
                    raise ToolError(
                        f"{key} may only point inside the schema ('#...')", "json_schema"
                    )
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _schema_errors(document: Any, schema: dict[str, Any]) -> list[dict[str, str]]:
    if len(json.dumps(schema)) > MAX_SCHEMA_CHARS:
        raise ToolError(f"the schema is larger than {MAX_SCHEMA_CHARS:,} characters", "json_schema")
    _local_refs_only(schema)
    validator_class = validators.validator_for(schema)
    try:
        validator_class.check_schema(schema)
        # An empty registry: nothing outside this schema can be looked up or fetched.
        validator = validator_class(schema, registry=Registry())
        errors = itertools.islice(validator.iter_errors(document), MAX_SCHEMA_ERRORS)
        return [{"path": e.json_path, "keyword": str(e.validator)} for e in errors]
    except SchemaError as exc:
        raise ToolError(f"not a valid JSON Schema: {exc.message[:200]}", "json_schema") from None
    except Unresolvable as exc:
        raise ToolError(f"unresolvable $ref: {exc}"[:200], "json_schema") from None


def _summary(args: ValidateArgs) -> tuple[dict[str, Any], Any]:
    if args.format == "xml":
        return _xml(args.text), None
    if args.format == "csv":
        return _csv(args.text, args.delimiter), None
    document = _json(args.text) if args.format == "json" else _yaml(args.text)
    return _tree_summary(document), document


def structured_validate(args: ValidateArgs) -> Result:
    if args.json_schema is not None and args.format in ("xml", "csv"):
        raise ToolError("a JSON Schema applies to json or yaml only", "json_schema")
    raw = args.text.encode("utf-8")
    result: Result = {
        "format": args.format,
        "bytes": len(raw),
        "sha256": hashlib.sha256(raw).hexdigest(),
    }
    try:
        summary, document = _summary(args)
    except Malformed as exc:
        error = {"message": exc.message[:300], "line": exc.line, "column": exc.column}
        return {**result, "well_formed": False, "valid": False, "error": error}
    result |= {"well_formed": True, "summary": summary}
    if args.json_schema is None:
        return {**result, "valid": True}
    errors = _schema_errors(document, args.json_schema)
    return {**result, "valid": not errors, "schema_errors": errors}


class ErrorAt(Position):
    message: str


class SchemaProblem(BaseModel):
    path: str
    keyword: str


TOOLS: tuple[Tool[Any], ...] = (
    Tool(
        "structured_validate",
        "Check that JSON, YAML, XML or CSV text is well formed (error line and column if "
        "not), validate JSON/YAML against an inline JSON Schema, and summarise it (counts, "
        "depth, size, sha256). Refuses YAML aliases/tags, XML DTDs/entities/XInclude and "
        "external $ref. Never echoes the document.",
        ValidateArgs,
        structured_validate,
        returns={
            "format": (str, ...),
            "bytes": (int, ...),
            "sha256": (str, ...),
            "well_formed": (bool, ...),
            "valid": (bool, ...),
            "error": (ErrorAt | None, None),
            "summary": (dict[str, int | bool | str] | None, None),
            "schema_errors": (list[SchemaProblem] | None, None),
        },
        exact=("sha256",),
        # The slow paths are a schema's regular expressions (`pattern`): text is bounded.
        timeout_argument="json_schema",
    ),
)

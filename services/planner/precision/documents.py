"""Is a document well formed, for structured_validate: JSON, YAML, XML or CSV given after
a colon or on the next line ("Is this valid JSON: {...}", "Validate this YAML:\\n..."),
inline ("Is {"a": 1} valid JSON?", "Is <a><b/></a> well-formed XML?"), or checked against
an inline JSON Schema ("Does {"age": 5} match the schema {"type": "object"}?"). The
document is passed on as written: the tool, not the planner, decides whether it parses."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from services.planner.precision.call import ToolCall, first_call
from services.planner.precision.words import clean, only_filler, vocabulary

_FORMATS = {"json": "json", "yaml": "yaml", "yml": "yaml", "xml": "xml", "csv": "csv", "tsv": "csv"}
_FORMAT = re.compile(r"\b(?P<format>json|yaml|yml|xml|csv|tsv)\b", re.IGNORECASE)
_DELIMITERS = {"semicolon": ";", "tab": "\t", "tsv": "\t", "pipe": "|"}
_ASK_FILLER = vocabulary(
    "is are this these it a an the following below text document file data string input "
    "valid well formed wellformed correct proper syntactically check checking if whether "
    "validate verify lint parse parses me tell please can could you does do here s its "
    "ok okay semicolon tab pipe separated delimited comma"
)
_VALID = r"(?:valid|well[\s-]?formed|correct|proper|parseable|parsable)"
_INLINE = re.compile(
    rf"(?:is|are|check\s+(?:if|whether)|validate|verify)\s+(?P<text>.+?)\s+(?:an?\s+)?"
    rf"{_VALID}\s+(?:(?:semicolon|tab|pipe|comma)[\s-](?:separated|delimited)\s+)?"
    r"(?P<format>json|yaml|yml|xml|csv)(?:\s+(?:document|text|data))?\s*\??\s*",
    re.IGNORECASE | re.DOTALL,
)
_AGAINST = re.compile(
    r"(?:does|do|validate|check|verify|is)\s+(?:(?:the|this)\s+)?(?:(?P<format>json|yaml)\s+)?"
    r"(?P<text>.+?)\s+(?:(?:is\s+)?valid\s+against|against|match(?:es)?|conforms?\s+to|"
    r"satisf(?:y|ies))\s+(?:the\s+|this\s+)?(?:json\s+)?schema\s*:?\s*(?P<schema>[{].*)",
    re.IGNORECASE | re.DOTALL,
)


def _call(format_word: str, text: str, asks: str, schema: dict[str, Any] | None = None) -> ToolCall:
    """The call for `text` in that format; `asks` (the question without the document)
    may name the CSV delimiter."""
    args: dict[str, Any] = {"format": _FORMATS[format_word.lower()], "text": text}
    delimiter = next((d for w, d in _DELIMITERS.items() if re.search(rf"\b{w}", asks, re.I)), None)
    if args["format"] == "csv" and delimiter is not None:
        args["delimiter"] = delimiter
    if schema is not None:
        args["json_schema"] = schema
    return ToolCall("structured_validate", args, "data")


def _unquoted(text: str) -> str:
    """The document without the quotes or code fence around it, and without a question
    mark that closes the question rather than the document."""
    text = text.strip()
    fenced = re.fullmatch(r"```[a-z]*\n(?P<body>.*?)\n?```", text, re.DOTALL | re.IGNORECASE)
    if fenced is not None:
        return fenced.group("body")
    if len(text) > 1 and text[0] == text[-1] and text[0] in "'`":
        return text[1:-1]
    return re.sub(r"(?<=[}\]>])\s*[?.!]$", "", text)


def _words_after(body: str) -> bool:
    """Whether words follow a JSON or XML document ("{...}? Also explain why"): then the
    question goes on past it, and is split into its clauses."""
    return re.search(r"[}\]>]\s*[?.!]?\s+[^{}\[\]<>]*[a-z][^{}\[\]<>]*$", body, re.I) is not None


def _introduced(question: str) -> ToolCall | None:
    """A document after the question: past its first colon or line break."""
    for join in re.finditer(r":[ \t]*\n?|\n", question):
        asks, body = question[: join.start()], question[join.end() :]
        found = _FORMAT.search(asks)
        if found is None:
            continue
        rest = _FORMAT.sub(" ", clean(asks))
        if not body.strip() or not only_filler(rest, _ASK_FILLER):
            return None  # the first break decides: a later colon is the document's own
        call = _call(found.group("format"), _unquoted(body), asks)
        return None if call.args["format"] in ("json", "xml") and _words_after(body) else call
    return None


def _inline(question: str) -> ToolCall | None:
    """A document inside the question: JSON or XML as it is, YAML or CSV in quotes."""
    found = _INLINE.fullmatch(question.strip())
    if found is None:
        return None
    written = found.group("text").strip()
    quoted = len(written) > 1 and written[0] == written[-1] and written[0] in "'`\""
    kind = _FORMATS[found.group("format").lower()]
    starts = {"json": "{[", "xml": "<"}.get(kind, "")
    if not quoted and not (starts and written[0] in starts):
        return None
    asks = question[: found.start("text")] + question[found.end("text") :]
    return _call(kind, written[1:-1] if quoted else written, asks)


def _against_schema(question: str) -> ToolCall | None:
    found = _AGAINST.fullmatch(clean(question))
    if found is None:
        return None
    try:
        schema = json.loads(_unquoted(found.group("schema")))
    except ValueError:
        return None
    document = _unquoted(found.group("text"))
    if not isinstance(schema, dict) or not document:
        return None
    if document[0] not in "{[\"'" and found.group("format") is None:
        return None
    return _call(found.group("format") or "json", document, question, schema)


GRAMMARS: tuple[Callable[[str], ToolCall | None], ...] = (_against_schema, _introduced, _inline)


def recognise(question: str) -> ToolCall | None:
    if _FORMAT.search(question) is None and "schema" not in question.lower():
        return None
    return first_call(GRAMMARS, question)

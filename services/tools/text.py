"""Text tools: hash_text, base64_codec, regex_extract, text_analyze."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import Any, Literal

from pydantic import Field

from services.tools.registry import Result, Tool, ToolArgs, ToolError

MAX_TEXT = 1_000_000
MAX_REGEX_TEXT = 100_000
WORDS_PER_MINUTE = 200
_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}


class HashArgs(ToolArgs):
    text: str = Field(max_length=MAX_TEXT, description="Text to hash (UTF-8 encoded).")
    algorithm: Literal["md5", "sha1", "sha224", "sha256", "sha384", "sha512"] = Field(
        default="sha256", description="Hash function."
    )


def hash_text(args: HashArgs) -> Result:
    digest = hashlib.new(args.algorithm, args.text.encode("utf-8")).hexdigest()
    return {"algorithm": args.algorithm, "hex": digest}


class Base64Args(ToolArgs):
    text: str = Field(max_length=MAX_TEXT, description="Text to encode, or Base64 to decode.")
    mode: Literal["encode", "decode"] = Field(default="encode", description="Direction.")
    url_safe: bool = Field(default=False, description="Use the URL-safe alphabet (- and _).")


def base64_codec(args: Base64Args) -> Result:
    if args.mode == "encode":
        raw = args.text.encode("utf-8")
        encoded = base64.urlsafe_b64encode(raw) if args.url_safe else base64.b64encode(raw)
        return {"mode": "encode", "result": encoded.decode("ascii")}
    compact = "".join(args.text.split())
    compact += "=" * (-len(compact) % 4)  # tolerate stripped padding
    alphabet = b"-_" if args.url_safe else b"+/"
    try:
        decoded = base64.b64decode(compact, altchars=alphabet, validate=True)
    except (binascii.Error, ValueError):
        raise ToolError("not valid Base64", "text") from None
    try:
        return {"mode": "decode", "result": decoded.decode("utf-8")}
    except UnicodeDecodeError:
        return {"mode": "decode", "result": None, "hex": decoded.hex(), "note": "binary data"}


class RegexArgs(ToolArgs):
    pattern: str = Field(min_length=1, max_length=500, description="Python regular expression.")
    text: str = Field(max_length=MAX_REGEX_TEXT, description="Text to search.")
    flags: str = Field(
        default="",
        pattern="^[ims]{0,3}$",
        description="Any of i (ignore case), m (multiline ^ $), s (dot matches newline).",
    )
    max_matches: int = Field(default=100, ge=1, le=1000, description="Stop after this many.")


def regex_extract(args: RegexArgs) -> Result:
    flags = 0
    for letter in args.flags:
        flags |= _FLAGS[letter]
    try:
        compiled = re.compile(args.pattern, flags)
    except (re.error, RecursionError, OverflowError) as exc:
        raise ToolError(f"invalid regular expression: {exc}", "pattern") from None
    matches: list[dict[str, Any]] = []
    for found in compiled.finditer(args.text):
        matches.append(
            {
                "match": found.group(0)[:1000],
                "start": found.start(),
                "end": found.end(),
                "groups": list(found.groups()),
                "named": found.groupdict(),
            }
        )
        if len(matches) >= args.max_matches:
            break
    return {"count": len(matches), "matches": matches}


class TextAnalyzeArgs(ToolArgs):
    text: str = Field(max_length=MAX_TEXT, description="Text to measure.")


_WORD = re.compile("\\w+(?:['\u2019-]\\w+)*")  # keeps "don't" and "well-known" whole
# Linear-time on purpose: split at terminators, keep pieces that contain a word character.
_TERMINATORS = re.compile(r"[.!?]+")
_ANY_WORD = re.compile(r"\w")


def text_analyze(args: TextAnalyzeArgs) -> Result:
    text = args.text
    words = _WORD.findall(text)
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    minutes = len(words) / WORDS_PER_MINUTE
    return {
        "words": len(words),
        "unique_words": len({w.lower() for w in words}),
        "characters": len(text),
        "characters_no_spaces": sum(1 for ch in text if not ch.isspace()),
        "sentences": sum(1 for part in _TERMINATORS.split(text) if _ANY_WORD.search(part)),
        "paragraphs": len(paragraphs),
        "average_word_length": round(sum(map(len, words)) / len(words), 2) if words else 0,
        "reading_time_minutes": round(minutes, 1),
        "reading_time_seconds": round(minutes * 60),
    }


TOOLS: tuple[Tool[Any], ...] = (
    Tool(
        "hash_text",
        "Cryptographic hash (md5, sha1, sha224, sha256, sha384, sha512) of a text, hex encoded.",
        HashArgs,
        hash_text,
        returns={"algorithm": (str, ...), "hex": (str, ...)},
        exact=("hex",),
    ),
    Tool(
        "base64_codec",
        "Encode text to Base64 or decode Base64 to text (standard or URL-safe alphabet).",
        Base64Args,
        base64_codec,
        returns={
            "mode": (str, ...),
            "result": (str | None, ...),
            "hex": (str | None, None),
            "note": (str | None, None),
        },
        exact=("result",),
    ),
    Tool(
        "regex_extract",
        "Find all matches of a regular expression in a text, with groups and positions. "
        "Flags: i, m, s. Runaway patterns are stopped after 2 seconds.",
        RegexArgs,
        regex_extract,
        timeout=2.0,
        timeout_argument="pattern",
        returns={"count": (int, ...), "matches": (list[Any], ...)},
        exact=("count",),
    ),
    Tool(
        "text_analyze",
        "Count words, unique words, characters, sentences and paragraphs of a text and "
        f"estimate its reading time ({WORDS_PER_MINUTE} words per minute).",
        TextAnalyzeArgs,
        text_analyze,
        returns={
            name: (int | float, ...)
            for name in (
                "words",
                "unique_words",
                "characters",
                "characters_no_spaces",
                "sentences",
                "paragraphs",
                "average_word_length",
                "reading_time_minutes",
                "reading_time_seconds",
            )
        },
        exact=("words", "characters"),
    ),
)

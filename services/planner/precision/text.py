"""Text and data questions: hashes, Base64, regex extraction, JSON queries, text
statistics and subnet facts. Free text is taken when it is quoted, follows a colon, or
is one word, so an open question after it is never swallowed as the text."""

from __future__ import annotations

import ipaddress
import json
import re

from services.planner.precision.call import ToolCall
from services.planner.precision.words import (
    COMMON_FILLER,
    clean,
    only_filler,
    quoted,
    vocabulary,
)

_HASHES = {"md5": "md5", "sha1": "sha1", "sha224": "sha224", "sha256": "sha256"}
_HASHES.update({"sha384": "sha384", "sha512": "sha512"})
_HASH = r"\b(?P<algo>md5|sha-?(?:1|224|256|384|512)|sha2)\b"


def _payload(text: str) -> tuple[str, str] | None:
    """The text a question is about, and the question without it."""
    found = quoted(text)
    if found is not None:
        return found
    colon = re.search(r":\s+(?P<text>.+)$", text, re.DOTALL)
    if colon is not None:
        return colon.group("text"), text[: colon.start()]
    single = re.search(r"\b(?:of|for|encode|decode|hash|base\s?-?64)\s+(?P<text>\S+)$", text, re.I)
    if single is not None:
        return single.group("text"), text[: single.start("text")]
    return None


def _hash(question: str) -> ToolCall | None:
    found = re.search(_HASH, question, re.IGNORECASE)
    payload = _payload(clean(question)) if found else None
    if found is None or payload is None:
        return None
    algorithm = found.group("algo").lower().replace("-", "").replace("sha2", "sha256")
    rest = re.sub(_HASH, " ", payload[1], flags=re.IGNORECASE)
    filler = COMMON_FILLER + vocabulary(
        "hash digest checksum sum of for hex text string the hashed"
    )
    if not only_filler(rest, filler):
        return None
    args = {"text": payload[0], "algorithm": _HASHES.get(algorithm, "sha256")}
    return ToolCall("hash_text", args, "text")


def _base64(question: str) -> ToolCall | None:
    if not re.search(r"\bbase\s?-?64\b", question, re.IGNORECASE):
        return None
    text = clean(question)
    payload = _payload(text)
    if payload is None:
        return None
    decode = re.search(r"\bdecod(?:e|ed|ing)\b|\bfrom\s+base\s?-?64\b", text, re.IGNORECASE)
    rest = re.sub(r"\bbase\s?-?64\b", " ", payload[1], flags=re.IGNORECASE)
    filler = COMMON_FILLER + vocabulary(
        "encode encoded decode decoded in into to from as the text string"
    )
    if not only_filler(rest, [*filler, "url", "safe"]):
        return None
    args: dict[str, object] = {"text": payload[0], "mode": "decode" if decode else "encode"}
    if re.search(r"\burl[\s-]?safe\b", text, re.IGNORECASE):
        args["url_safe"] = True
    return ToolCall("base64_codec", args, "text")


_NAMED_PATTERNS = {
    "emails?|e-mail addresses|email addresses": r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
    "urls?|links?|web addresses": r"https?://[^\s\"'<>]+",
    "numbers?|digits|integers": r"-?\d+(?:\.\d+)?",
    "ip addresses|ips": r"\b(?:\d{1,3}\.){3}\d{1,3}\b",
    "dates": r"\b\d{4}-\d{2}-\d{2}\b",
    "hashtags": r"#\w+",
    "mentions": r"@\w+",
}


def _regex(question: str) -> ToolCall | None:
    text = clean(question)
    explicit = re.match(
        r"(?:find|extract|match|get)\s+(?:all\s+)?(?:matches\s+of\s+)?(?:the\s+)?(?:regex|regular"
        r"\s+expression|pattern)\s+(?P<q>[/`\"'])(?P<pattern>.+?)(?P=q)\s+(?:in|from|on)\s*:?\s*(?P<rest>.+)",
        text,
        re.IGNORECASE | re.DOTALL,
    )
    if explicit is not None:
        target = quoted(explicit.group("rest"))
        body = target[0] if target else explicit.group("rest")
        return ToolCall(
            "regex_extract", {"pattern": explicit.group("pattern"), "text": body}, "text"
        )
    named = re.match(
        r"(?:find|extract|list|get|pull\s+out)\s+(?:all\s+|every\s+)?(?:the\s+)?(?P<what>[a-z -]+?)"
        r"\s+(?:in|from)\s*(?:this\s+text|the\s+text|this)?\s*:?\s*(?P<rest>.+)",
        text,
        re.IGNORECASE | re.DOTALL,
    )
    if named is None:
        return None
    for names, pattern in _NAMED_PATTERNS.items():
        if re.fullmatch(names, named.group("what").strip(), re.IGNORECASE):
            target = quoted(named.group("rest"))
            body = target[0] if target else named.group("rest")
            return ToolCall("regex_extract", {"pattern": pattern, "text": body}, "text")
    return None


def _json_document(text: str) -> tuple[object, int, int] | None:
    """The longest JSON object or array in `text` (a path like users[0] is one too)."""
    best: tuple[object, int, int] | None = None
    decoder = json.JSONDecoder()
    for opening in re.finditer(r"[{\[]", text):
        try:
            document, end = decoder.raw_decode(text, opening.start())
        except ValueError:
            continue
        if best is None or end - opening.start() > best[2] - best[1]:
            best = (document, opening.start(), end)
    return best


def _json_query(question: str) -> ToolCall | None:
    text = clean(question)
    found = _json_document(text)
    if found is None or not isinstance(found[0], dict | list):
        return None
    document, start, end = found
    rest = text[:start] + " " + text[end:]
    path = re.search(
        r"(?P<path>(?:\$\.?)?[A-Za-z_][\w]*(?:\[-?\d+\]|\.[A-Za-z_]\w*)*|\$|\[-?\d+\](?:\[-?\d+\]|\.[A-Za-z_]\w*)*)"
        r"(?=\s*(?:\?|$|from|in|of)|\s+(?:from|in|of)\b)",
        re.sub(
            r"^(?:what\s+is|get|extract|return|find|select|query)\s+(?:the\s+(?:value\s+(?:of|at)\s+)?)?(?:path\s+)?",
            "",
            rest.strip(),
            flags=re.I,
        ),
    )
    if path is None or not re.search(r"[.\[]|\$", path.group("path")):
        return None
    return ToolCall("json_query", {"data": document, "path": path.group("path")}, "data")


def _text_analyze(question: str) -> ToolCall | None:
    text = clean(question)
    asks = re.match(
        r"(?:count\s+(?:the\s+)?(?:words|characters|sentences)|how\s+many\s+(?:words|characters"
        r"|sentences)|word\s+count|analy[sz]e\s+(?:this|the)\s+text|text\s+statistics|reading\s+time)"
        r"\b",
        text,
        re.IGNORECASE,
    )
    payload = _payload(text) if asks else None
    if payload is None or (" " not in payload[0].strip() and len(payload[0]) < 2):
        return None
    filler = COMMON_FILLER + vocabulary(
        "count the words characters sentences how many word are there in of this text "
        "analyze analyse statistics reading time following paragraph passage string"
    )
    if not only_filler(payload[1], filler):
        return None
    return ToolCall("text_analyze", {"text": payload[0]}, "text")


_IPV4 = r"(?:\d{1,3}\.){3}\d{1,3}"
_CIDR = rf"(?P<cidr>{_IPV4}/(?:\d{{1,2}}|{_IPV4})|[0-9a-f:]*:[0-9a-f:]+/\d{{1,3}})"


def _subnet(question: str) -> ToolCall | None:
    text = clean(question)
    found = re.search(_CIDR, text, re.IGNORECASE)
    if found is None:
        return None
    try:
        ipaddress.ip_network(found.group("cidr"), strict=False)
    except ValueError:
        return None
    filler = COMMON_FILLER + vocabulary(
        "how many hosts host addresses address usable network broadcast netmask mask subnet "
        "first last range in of for on ip ipv4 ipv6 cidr facts info information details "
        "and there available calculate prefix size wildcard"
    )
    if not only_filler(text[: found.start()] + " " + text[found.end() :], filler):
        return None
    return ToolCall("subnet_calc", {"cidr": found.group("cidr")}, "network")


GRAMMARS = (_json_query, _regex, _hash, _base64, _text_analyze, _subnet)


def recognise(question: str) -> ToolCall | None:
    for grammar in GRAMMARS:
        call = grammar(question)
        if call is not None:
            return call
    return None

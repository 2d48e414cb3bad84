"""The exact-match answer cache: a per-tenant view of moe.answers, minus answers that
drew negative feedback on moe.feedback.

Every planner instance builds its own view by reading both topics from the beginning
(no consumer group), so any instance can answer any repeated question and a restarted
instance rebuilds its cache from the retained events."""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from dataclasses import dataclass

from contracts import AnswerCommitted, CachedAnswer, FeedbackGiven, RequestReceived


def cache_key(request: RequestReceived, exact_only: bool = False) -> str:
    """Same tenant, mode, conversation and length limits: the same answer. Whitespace
    is not meaning, so it is normalised; case is (code, units), so it is kept."""
    conversation = [(m.role, " ".join(m.content.split())) for m in request.messages]
    limits = (request.options.max_tokens, request.options.stop)
    material = json.dumps([request.tenant, request.mode, conversation, limits])
    # The prefix tells the semantic cache's writer, which sees only the committed answer,
    # the mode and whether the question stands alone (see `semantic_scope`).
    if exact_only:  # precise answers: a question differing in one number is another one
        standalone = EXACT_ONLY
    else:
        standalone = SINGLE_QUESTION if stands_alone(request) else IN_CONTEXT
    return f"{request.mode}:{standalone}:{hashlib.sha256(material.encode()).hexdigest()}"


SINGLE_QUESTION = "q"
IN_CONTEXT = "c"
EXACT_ONLY = "x"


def stands_alone(request: RequestReceived) -> bool:
    """One user message, no system prompt, no length limits: what the semantic cache may
    answer and keep. A follow-up ("and in Fahrenheit?") means nothing without its
    conversation, so it is never cached, nor looked up, by its bare text."""
    no_limits = request.options.max_tokens is None and request.options.stop is None
    return no_limits and [m.role for m in request.messages] == ["user"]


def semantic_scope(key: str | None) -> str | None:
    """The mode of an answer the semantic cache may keep, from its cache key; else None."""
    parts = (key or "").split(":", 2)
    return parts[0] if len(parts) == 3 and parts[1] == SINGLE_QUESTION else None


@dataclass(frozen=True)
class _Entry:
    answer: CachedAnswer
    stored_at: float


class AnswerCache:
    """Bounded (least recently used entries go first) and expiring."""

    def __init__(self, max_entries: int, ttl_s: float) -> None:
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        # Feedback may be read before its answer when the view is rebuilt from both
        # topics, so flagged ids are remembered (bounded like the entries).
        self._flagged: OrderedDict[str, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, key: str) -> CachedAnswer | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if time.time() - entry.stored_at > self.ttl_s:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry.answer

    def remember(self, committed: AnswerCommitted) -> None:
        if committed.cache_key is None or committed.response_id in self._flagged:
            return
        if not committed.answer.strip():
            return  # an empty answer is a failure; one committed by an older merger too
        stored_at = committed.created_at.timestamp()
        if time.time() - stored_at > self.ttl_s:
            return  # replayed from long ago: already expired
        answer = CachedAnswer(response_id=committed.response_id, answer=committed.answer)
        self._entries[committed.cache_key] = _Entry(answer, stored_at)
        self._entries.move_to_end(committed.cache_key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def apply(self, feedback: FeedbackGiven) -> None:
        """Negative feedback takes the answer it rates out of the cache, for good."""
        if feedback.rating >= 0:  # positive or neutral (3 stars)
            return
        self._flagged[feedback.response_id] = None
        while len(self._flagged) > self.max_entries:
            self._flagged.popitem(last=False)
        for key, entry in list(self._entries.items()):
            if entry.answer.response_id == feedback.response_id:
                del self._entries[key]

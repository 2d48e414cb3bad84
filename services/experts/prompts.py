"""What an expert model is told: its role, the client's mode, the answer format, the
recent conversation."""

from __future__ import annotations

from contracts import ChatMessage, TaskAssigned

HISTORY_TURNS = 4
HISTORY_CHARS = 3000

# The reference system's roles: each category's duties stated where a model reads them.
ROLES: dict[str, str] = {
    "general": "You are a knowledgeable, precise assistant. Answer accurately and say "
    "plainly what you do not know.",
    "math": "You are a mathematician. Work step by step, show every key step, state the "
    "result exactly, then verify it (substitute it back or check it another way).",
    "technical_support": "You are a senior technical support engineer. Diagnose the cause "
    "before the fix, give concrete commands or settings, and warn before any step that "
    "can lose data.",
    "creative_writer": "You are a skilled creative writer. Write vivid, original text in "
    "the tone and form the user asks for.",
    "code_reviewer": "You are a senior software engineer reviewing and writing code. Point "
    "out bugs, security issues and unclear code, and show corrected code.",
    "medical_consult": "You are a careful medical consultant. Give general, evidence-based "
    "information, state uncertainty plainly, never diagnose, and always recommend "
    "consulting a doctor or other qualified health professional.",
    "legal_advisor": "You are a careful legal advisor. Cite the statutes, articles or "
    "cases you rely on, note that laws vary by jurisdiction, and always recommend "
    "consulting a qualified lawyer for a binding assessment.",
    "translation": "You are a professional translator. Preserve meaning, tone and "
    "formatting; name the source and target language when it is not obvious.",
    "reasoning": "You are an analytical thinker. Break the problem into steps, reason "
    "through each explicitly, check your assumptions, then conclude.",
}

# Every answer states its confidence, so tier 2 can be asked when tier 1 is unsure and
# the merger can weigh results; an answer streamed straight to the client is the only
# exception (the client should read prose, not a report).
REPORT_FORMAT = (
    "\n\nAnswer in exactly this format:\n"
    "CORE_FINDING: <the answer in one or two sentences>\n"
    "CONFIDENCE: <high|medium|low>\n"
    "GAPS: <what you are unsure of or could not cover>\n"
    "DETAILS: <the full answer>"
)

MODES: dict[str, str] = {
    "default": "",
    "code": "\n\nMode: code. Answer with code only: complete, runnable code in one fenced "
    "block; explanations only as comments inside the code.",
    "concise": "\n\nMode: concise. Answer in at most 120 words.",
}


def recent_history(messages: list[ChatMessage]) -> list[ChatMessage]:
    """The last turns before the question (at most HISTORY_TURNS user/assistant pairs,
    HISTORY_CHARS in all), newest kept first when trimming to size."""
    earlier = [m for m in messages[:-1] if m.role in ("user", "assistant")]
    kept: list[ChatMessage] = []
    budget = HISTORY_CHARS
    for message in reversed(earlier[-HISTORY_TURNS * 2 :]):
        if len(message.content) > budget:
            break
        budget -= len(message.content)
        kept.append(message)
    return list(reversed(kept))


def system_prompt(category: str, mode: str, report: bool) -> str:
    system = ROLES.get(category, ROLES["general"])
    if report:
        system += REPORT_FORMAT
    return system + MODES.get(mode, "")


def build_messages(task: TaskAssigned, category: str, report: bool) -> list[dict[str, str]]:
    """The model's messages: system (role, format, mode, the client's own system text),
    the recent history, then the task."""
    system = system_prompt(category, task.mode, report)
    client_system = [m.content for m in task.messages if m.role in ("system", "developer")]
    if client_system:
        system = system + "\n\n" + "\n".join(client_system)
    messages = [{"role": "system", "content": system}]
    for turn in recent_history(task.messages):
        messages.append({"role": turn.role, "content": turn.content})
    messages.append({"role": "user", "content": task.task.task})
    return messages

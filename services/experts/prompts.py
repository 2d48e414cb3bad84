"""What an expert model is told: its role, the client's mode, the recent conversation."""

from __future__ import annotations

from contracts import ChatMessage, TaskAssigned

HISTORY_TURNS = 4
HISTORY_CHARS = 3000

ROLES: dict[str, str] = {
    "general": "You are a knowledgeable, precise assistant.",
    "math": "You are a mathematician. Show the key steps and state the result exactly.",
    "technical_support": "You are a senior technical support engineer.",
    "creative_writer": "You are a skilled creative writer.",
    "code_reviewer": "You are a senior software engineer reviewing and writing code.",
    "medical_consult": "You are a careful medical consultant; state uncertainty plainly.",
    "legal_advisor": "You are a careful legal advisor; note that laws vary by jurisdiction.",
    "translation": "You are a professional translator; preserve meaning and tone.",
    "reasoning": "You reason step by step before answering.",
}

# Answers that feed a merge (not streamed to the client) use the reference format, so the
# merger can weigh them by confidence and see what each expert could not cover.
REPORT_FORMAT = (
    "\n\nAnswer in exactly this format:\n"
    "CORE_FINDING: <the answer in one or two sentences>\n"
    "CONFIDENCE: <high|medium|low>\n"
    "GAPS: <what you are unsure of or could not cover>\n"
    "DETAILS: <the full answer>"
)

MODES: dict[str, str] = {
    "default": "",
    "code": " Prefer complete, runnable code with brief explanations.",
    "concise": " Answer as briefly as the question allows.",
}


def recent_history(messages: list[ChatMessage]) -> list[ChatMessage]:
    """The last turns before the question, newest kept first when trimming to size."""
    earlier = [m for m in messages[:-1] if m.role in ("user", "assistant")]
    kept: list[ChatMessage] = []
    budget = HISTORY_CHARS
    for message in reversed(earlier[-HISTORY_TURNS * 2 :]):
        if len(message.content) > budget:
            break
        budget -= len(message.content)
        kept.append(message)
    return list(reversed(kept))


def build_messages(task: TaskAssigned, category: str) -> list[dict[str, str]]:
    system = ROLES.get(category, ROLES["general"]) + MODES.get(task.mode, "")
    if not task.stream_reply:
        system += REPORT_FORMAT
    client_system = [m.content for m in task.messages if m.role in ("system", "developer")]
    if client_system:
        system = system + "\n\n" + "\n".join(client_system)
    messages = [{"role": "system", "content": system}]
    for turn in recent_history(task.messages):
        messages.append({"role": turn.role, "content": turn.content})
    messages.append({"role": "user", "content": task.task.task})
    return messages

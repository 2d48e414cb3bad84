"""What the judge model is told: the sources in priority order, then the question.

The question comes last, in the last message, so that the model reads it right before it
answers (and a scripted model server finds the question's own timing there)."""

from __future__ import annotations

from contracts import PlanCreated, TaskResult
from services.merger.merge import sources

JUDGE_SYSTEM = (
    "You are the judge of a panel of specialists. Answer the user's question using the "
    "sources you are given; they are listed from the most to the least reliable. When "
    "sources conflict, prefer the one listed first. Copy exact values from precision-tool "
    "sources verbatim (numbers, hashes, dates, units): never recompute or round them. "
    "Write one answer to the question; do not mention the sources, the panel or yourself."
)
# The same answer styles the experts are given (model ids moe-orchestrator-code/-concise).
MODES: dict[str, str] = {
    "default": "",
    "code": " Prefer complete, runnable code with brief explanations.",
    "concise": " Answer as briefly as the question allows.",
}


def _label(index: int, plan: PlanCreated, result: TaskResult) -> str:
    task = next(t for t in plan.tasks if t.id == result.task_id)
    kind = "precision tool " + (task.tool or result.category) if task.worker == "tool" else ""
    kind = kind or f"{task.worker} ({result.category})"
    return f"[{index}] {kind} — task: {task.task}"


def judge_messages(plan: PlanCreated, results: list[TaskResult]) -> list[dict[str, str]]:
    blocks = [f"{_label(i, plan, r)}\n{r.output}" for i, r in enumerate(sources(plan, results), 1)]
    question = plan.question.strip() or "(not given: combine the sources into one answer)"
    body = "Sources, most reliable first:\n\n" + "\n\n".join(blocks) + f"\n\nQuestion: {question}"
    return [
        {"role": "system", "content": JUDGE_SYSTEM + MODES.get(plan.mode, "")},
        {"role": "user", "content": body},
    ]

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
    ordered = enumerate(sources(plan, results), 1)
    # An expert's whole report: its confidence and gaps help the judge weigh it.
    blocks = [f"{_label(i, plan, r)}\n{r.output}" for i, r in ordered]
    question = plan.question.strip() or "(not given: combine the sources into one answer)"
    body = "Sources, most reliable first:\n\n" + "\n\n".join(blocks) + f"\n\nQuestion: {question}"
    return [
        {"role": "system", "content": JUDGE_SYSTEM + MODES.get(plan.mode, "")},
        {"role": "user", "content": body},
    ]


THINKING_SYSTEM = (
    "You think a panel's answer through before it is written. Work in four numbered "
    "steps, each with its heading: 1. Decomposition: what the question asks, part by "
    "part. 2. Source evaluation: what each source contributes, how reliable it is, and "
    "every contradiction between sources. 3. Gaps: what no source covers. 4. Conclusion: "
    "what the answer must say. Be brief; do not write the answer itself."
)


def thinking_messages(plan: PlanCreated, results: list[TaskResult]) -> list[dict[str, str]]:
    """The thinking step's prompt: the same sources and question the judge gets."""
    [_, body] = judge_messages(plan, results)
    return [{"role": "system", "content": THINKING_SYSTEM}, body]


def with_reasoning(prompt: list[dict[str, str]], trace: str) -> list[dict[str, str]]:
    """The judge's prompt with the thinking step's trace before the question."""
    if not trace.strip():
        return prompt
    system, body = prompt
    sources, _, question = body["content"].rpartition("\n\nQuestion: ")
    content = f"{sources}\n\nReasoning so far:\n{trace.strip()}\n\nQuestion: {question}"
    return [system, {"role": "user", "content": content}]


CONFIRMED = "CONFIRMED"
CRITIC_SYSTEM = (
    "You review an answer on a medical or legal question for factual errors and "
    "dangerous statements (wrong doses, advice to skip professional help, misstated "
    "law). If the answer is correct and safe, reply with the single word CONFIRMED. "
    "Otherwise reply with the corrected answer only, in full, as the user should read "
    "it; do not describe your changes."
)


def critic_messages(plan: PlanCreated, answer: str) -> list[dict[str, str]]:
    question = plan.question.strip() or "(not given)"
    body = f"Question: {question}\n\nAnswer to review:\n{answer}"
    return [{"role": "system", "content": CRITIC_SYSTEM}, {"role": "user", "content": body}]

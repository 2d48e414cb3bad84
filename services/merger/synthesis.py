"""The judge's work on a plan's results, each step a call to the judge model:

1. thinking (when the plan has several tasks or a result is `low`): a four-step trace,
   streamed to the client as reasoning chunks as it is generated;
2. synthesis (when a model must write the answer): the judge's answer from the
   results and the trace, streamed as content chunks;
3. critic (when a result is medical or legal): the judge checks the answer. The
   synthesis is then held back (the client sees a progress line meanwhile) and only
   the checked answer is sent: the draft when the critic says CONFIRMED, else its
   correction. The client never gets an answer that is then contradicted.

A synthesis that fails before its first token falls back to the concatenation (sent,
not cached: the judge is asked again next time); once tokens are out, a failure can
only end the stream with ReplyError. A failed thinking step or critic is logged and
skipped: the answer is still given."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog
from faststream.kafka import KafkaBroker

from contracts import PlanCreated, ReplyChunk, ReplyError, TaskResult, Usage
from contracts.events import FinishReason, ReplyChannel
from contracts.inference import find_server
from contracts.model_stream import (
    ModelCallError,
    ModelClient,
    Prompt,
    estimated_usage,
    finish_reason,
)
from contracts.topics import REPLIES
from contracts.wire import Unconfirmed, publish_event
from services.merger.merge import (
    Outcome,
    closing,
    failure,
    merge,
    models_used,
    shown,
    sources,
    total_usage,
)
from services.merger.precision_guard import guard
from services.merger.prompts import (
    CONFIRMED,
    critic_messages,
    judge_messages,
    thinking_messages,
    with_reasoning,
)
from services.merger.replies import publish_outcome
from services.merger.settings import MergerSettings

log = structlog.get_logger()
Emit = Callable[[str], Awaitable[None]]
REVIEW_LINE = "Checking the answer for factual errors and dangerous statements…\n"


class Judge:
    """The judge model and its long-lived client: one per merger app, closed on shutdown."""

    def __init__(self, settings: MergerSettings) -> None:
        # Fails at start-up, not on the first plan, when JUDGE_ENDPOINT names an endpoint
        # that INFERENCE_SERVERS lacks.
        server = find_server(settings.inference_servers, settings.judge_endpoint)
        self.model = settings.judge_model
        self.client = ModelClient(server)

    async def aclose(self) -> None:
        await self.client.aclose()


@dataclass(frozen=True)
class Job:
    """What the judge is asked to do for one plan."""

    plan: PlanCreated
    results: list[TaskResult]
    """One per task (services.merger.merge.chosen)."""
    trail: list[TaskResult]
    """Every result of the request, for its usage."""
    seq: int = 0
    """Reply chunks already sent (progress lines)."""
    think: bool = False
    write: bool = True
    """The judge writes the answer; False: the one usable result is the draft."""
    review: bool = False
    progress: bool = True


@dataclass
class Judged:
    """What one judge call produced."""

    parts: list[str] = field(default_factory=list)
    usage: Usage | None = None
    finish: FinishReason = "stop"
    error: str | None = None

    @property
    def text(self) -> str:
        return "".join(self.parts)


class ReplyWriter:
    """The request's reply chunks, numbered on from what was already sent."""

    def __init__(self, broker: KafkaBroker, plan: PlanCreated, seq: int) -> None:
        self.plan, self.seq = plan, seq
        self.sent = Unconfirmed(broker)

    async def send(self, text: str, channel: ReplyChannel = "content") -> None:
        chunk = ReplyChunk(
            request_id=self.plan.request_id,
            tenant=self.plan.tenant,
            seq=self.seq,
            delta=text,
            channel=channel,
        )
        await self.sent.send(chunk, REPLIES)
        self.seq += 1

    def emitting(self, channel: ReplyChannel) -> Emit:
        async def emit(text: str) -> None:
            await self.send(text, channel)

        return emit


async def ask(judge: Judge, plan: PlanCreated, prompt: Prompt, emit: Emit | None) -> Judged:
    """One streamed judge call; each piece of text goes to `emit` as it arrives."""
    judged = Judged()
    # Nobody waits for the answer after the deadline: the call stops there.
    remaining = None if plan.deadline_at is None else plan.deadline_at - time.time()
    try:
        async with asyncio.timeout(remaining):
            async for piece in judge.client.stream(judge.model, prompt, plan.options):
                judged.usage = piece.usage or judged.usage
                if piece.finish_reason:
                    judged.finish = finish_reason(piece.finish_reason)
                if not piece.text:
                    continue
                if emit is not None:
                    await emit(piece.text)
                judged.parts.append(piece.text)
    except (ModelCallError, TimeoutError) as exc:
        judged.error = f"judge model {judge.model!r} failed: {type(exc).__name__}: {exc}"
    return judged


def spent(judged: Judged, prompt: Prompt) -> Usage:
    return judged.usage or estimated_usage(prompt, len(judged.parts))


async def synthesize(broker: KafkaBroker, judge: Judge, job: Job) -> None:
    """Think, write, check; then ReplyDone and AnswerCommitted."""
    plan = job.plan
    if plan.deadline_at is not None and plan.deadline_at <= time.time():
        log.warning("judge_skipped", request_id=plan.request_id, reason="deadline passed")
        await publish_outcome(broker, merge(_uncached(plan), job.results, job.trail, job.seq))
        return
    writer = ReplyWriter(broker, plan, job.seq)
    usage, models = plan.usage + total_usage(job.trail), models_used(job.results)
    trace = ""
    if job.think:
        prompt = thinking_messages(plan, job.results)
        thought = await ask(judge, plan, prompt, writer.emitting("reasoning"))
        usage += spent(thought, prompt)
        models.append(f"{judge.model}::thinking")
        trace = thought.text
        if thought.error:
            log.warning("thinking_failed", request_id=plan.request_id, error=thought.error)
        elif trace and not trace.endswith("\n"):
            await writer.send("\n", "reasoning")
    if job.write:
        prompt = with_reasoning(judge_messages(plan, job.results), trace)
        emit = None if job.review else writer.emitting("content")
        written = await ask(judge, plan, prompt, emit)
        usage += spent(written, prompt)
        if not written.parts:
            reason = written.error or f"judge model {judge.model!r} answered nothing"
            log.warning("judge_fallback_to_concatenation", request_id=plan.request_id, error=reason)
            await writer.sent.confirm()
            fallback = merge(_uncached(plan), job.results, job.trail, writer.seq)
            await publish_outcome(broker, fallback)
            return
        error = written.error or await writer.sent.confirm()
        if error is not None:
            log.warning("judge_failed_mid_stream", request_id=plan.request_id, error=error)
            await publish_event(broker, _cut_short(plan, writer.seq, error), REPLIES)
            return
        models.append(f"{judge.model}::judge")
        text, finish = written.text, written.finish
    else:
        [draft] = sources(plan, job.results)
        text, finish = shown(plan, draft), draft.finish_reason or "stop"
    # `text` is the final synthesised answer: checks of the whole answer go here.
    if job.review:
        text, usage = await _reviewed(judge, job, writer, text, usage, models)
        await writer.send(text)
    undelivered = await writer.sent.confirm()
    if undelivered is not None:
        await publish_event(broker, _cut_short(plan, writer.seq, undelivered), REPLIES)
        return
    # No model may alter a tool's value: a missing one is appended (precision_guard).
    checked = guard(plan, job.results, text, writer.seq)
    done, answer = closing(plan, job.results, checked.text, finish, checked.seq, usage, models)
    await publish_outcome(broker, Outcome([*checked.chunks, done], checked.recorded(answer)))


async def _reviewed(
    judge: Judge, job: Job, writer: ReplyWriter, draft: str, usage: Usage, models: list[str]
) -> tuple[str, Usage]:
    """The answer the critic lets through: the draft, or the critic's correction."""
    if job.progress:
        await writer.send(REVIEW_LINE, "reasoning")
    prompt = critic_messages(job.plan, draft)
    verdict = await ask(judge, job.plan, prompt, None)
    usage += spent(verdict, prompt)
    said = verdict.text.strip()
    if verdict.error or not said:
        reason = verdict.error or "the critic said nothing"
        log.warning("critic_failed", request_id=job.plan.request_id, error=reason)
        return draft, usage
    models.append(f"{judge.model}::critic")
    if said.strip(" .*").upper() == CONFIRMED:
        return draft, usage
    log.info("critic_corrected", request_id=job.plan.request_id)
    return said, usage


def _uncached(plan: PlanCreated) -> PlanCreated:
    """The plan without its cache key: an answer the judge did not write is a stand-in,
    not one to serve again."""
    return plan.model_copy(update={"cache_key": None})


def _cut_short(plan: PlanCreated, seq: int, error: str) -> ReplyError:
    return failure(plan, seq, f"The answer was cut short: {error}")


class Syntheses:
    """Judge calls in flight, each a task kept here until it ends (awaited on shutdown),
    at most `limit` streaming at once."""

    def __init__(self, limit: int) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(limit)

    def __len__(self) -> int:
        return len(self._tasks)

    def start(self, broker: KafkaBroker, judge: Judge, job: Job) -> None:
        run = self._run(broker, judge, job)
        task = asyncio.create_task(run, name=f"synthesis {job.plan.request_id}")
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    async def _run(self, broker: KafkaBroker, judge: Judge, job: Job) -> None:
        async with self._slots:
            await synthesize(broker, judge, job)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("synthesis_failed", task=task.get_name(), error=repr(task.exception()))

    async def drain(self) -> None:
        """Wait for every synthesis, including those started while waiting."""
        while self._tasks:
            # Failures were logged as each task ended (_finished).
            await asyncio.gather(*self._tasks, return_exceptions=True)

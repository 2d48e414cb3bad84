"""Judge synthesis: the judge model writes one answer from a plan's results, and its
tokens stream to moe.replies as it produces them (one ReplyChunk per model delta).

Failure before the first token, an empty answer included, falls back to the
concatenation (the client still gets every source, but it is not cached: the judge is
asked again next time); once tokens are out, a failure can only end the stream with
ReplyError."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpx
import structlog
from faststream.kafka import KafkaBroker

from contracts import PlanCreated, ReplyChunk, ReplyError, TaskResult, Usage
from contracts.events import FinishReason
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
from services.merger.merge import Outcome, closing, failure, merge, total_usage
from services.merger.precision_guard import guard
from services.merger.prompts import judge_messages
from services.merger.replies import publish_outcome
from services.merger.settings import MergerSettings

log = structlog.get_logger()


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


@dataclass
class Judged:
    """What one judge call produced."""

    parts: list[str] = field(default_factory=list)
    usage: Usage | None = None
    finish: FinishReason = "stop"
    error: str | None = None


async def _judge(judge: Judge, plan: PlanCreated, prompt: Prompt, chunks: Unconfirmed) -> Judged:
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
                chunk = ReplyChunk(
                    request_id=plan.request_id,
                    tenant=plan.tenant,
                    seq=len(judged.parts),
                    delta=piece.text,
                )
                await chunks.send(chunk, REPLIES)
                judged.parts.append(piece.text)
    except (ModelCallError, httpx.HTTPError, TimeoutError) as exc:
        judged.error = f"judge model {judge.model!r} failed: {type(exc).__name__}: {exc}"
    return judged


async def synthesize(
    broker: KafkaBroker, judge: Judge, plan: PlanCreated, results: list[TaskResult]
) -> None:
    """Stream the judge's answer to moe.replies, then ReplyDone and AnswerCommitted."""
    if plan.deadline_at is not None and plan.deadline_at <= time.time():
        log.warning("judge_skipped", request_id=plan.request_id, reason="deadline passed")
        await publish_outcome(broker, merge(_uncached(plan), results))
        return
    prompt = judge_messages(plan, results)
    chunks = Unconfirmed(broker)
    judged = await _judge(judge, plan, prompt, chunks)
    undelivered = await chunks.confirm()
    if not judged.parts:
        reason = judged.error or f"judge model {judge.model!r} answered nothing"
        log.warning("judge_fallback_to_concatenation", request_id=plan.request_id, error=reason)
        await publish_outcome(broker, merge(_uncached(plan), results))
        return
    error = judged.error or undelivered
    if error is not None:
        log.warning("judge_failed_mid_stream", request_id=plan.request_id, error=error)
        await publish_event(broker, _cut_short(plan, len(judged.parts), error), REPLIES)
        return
    usage = total_usage(results) + (judged.usage or estimated_usage(prompt, len(judged.parts)))
    text = "".join(judged.parts)
    # No model may alter a tool's value: a missing one is appended (precision_guard).
    checked = guard(plan, results, text, len(judged.parts))
    done, answer = closing(plan, results, checked.text, judged.finish, checked.seq, usage)
    await publish_outcome(broker, Outcome([*checked.chunks, done], checked.recorded(answer)))


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

    def start(
        self, broker: KafkaBroker, judge: Judge, plan: PlanCreated, results: list[TaskResult]
    ) -> None:
        run = self._run(broker, judge, plan, results)
        task = asyncio.create_task(run, name=f"synthesis {plan.request_id}")
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    async def _run(
        self, broker: KafkaBroker, judge: Judge, plan: PlanCreated, results: list[TaskResult]
    ) -> None:
        async with self._slots:
            await synthesize(broker, judge, plan, results)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("synthesis_failed", task=task.get_name(), error=repr(task.exception()))

    async def drain(self) -> None:
        """Wait for every synthesis, including those started while waiting."""
        while self._tasks:
            # Failures were logged as each task ended (_finished).
            await asyncio.gather(*self._tasks, return_exceptions=True)

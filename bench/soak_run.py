"""One soak run against a running stack: a driver sending the mix's requests until the
end time, and a reporter that closes each minute on the minute, samples the stack's
processes and consumer groups, and prints the minute's figures."""

from __future__ import annotations

import asyncio
import ipaddress
import math
import time
from contextlib import AsyncExitStack
from urllib.parse import urlsplit

import httpx
import structlog
from rich.console import Console

from bench.soak_client import Outcome, new_client, send
from bench.soak_config import NotAStack, SoakConfig
from bench.soak_lag import GroupView, LagProbe
from bench.soak_mix import IDLE_GAP_S, PROFILES, Mix
from bench.soak_procs import StackProcesses
from bench.soak_report import Minute, MinuteBucket, Verdict, header, line, verdict

log = structlog.get_logger("bench.soak")


def check_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise NotAStack(f"{url}: the soak drives a local stack only (loopback addresses)")


async def check_gateway(config: SoakConfig) -> None:
    health = f"{config.api_url.removesuffix('/v1')}/health"
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            (await client.get(health)).raise_for_status()
    except httpx.HTTPError as exc:
        raise NotAStack(
            f"no healthy gateway at {health} ({exc!r}); start it with `make run`"
        ) from exc


class Soak:
    """One run: a driver sending requests until the end time, and a reporter closing
    each minute's bucket on the minute."""

    def __init__(
        self,
        config: SoakConfig,
        processes: StackProcesses,
        probe: LagProbe | None,
        console: Console,
    ) -> None:
        self.config = config
        self.console = console
        self.processes = processes
        self.probe = probe
        self.mix = Mix(config.seed, config.mix or PROFILES[config.profile])
        self.client = new_client(config.api_url, config.timeout_s)
        self.started = time.monotonic()
        self.ends = self.started + 60 * config.minutes
        self.count = max(1, math.ceil(config.minutes))  # the last minute may be partial
        self.buckets = [MinuteBucket(i + 1) for i in range(self.count)]
        self.minutes: list[Minute] = []

    def _bucket(self, at: float) -> MinuteBucket:
        # A minute already printed takes nothing more: a late arrival counts in the next.
        index = max(int((at - self.started) // 60), len(self.minutes))
        return self.buckets[min(index, self.count - 1)]

    def _record(self, outcome: Outcome) -> None:
        if outcome.error:
            ask = outcome.ask
            log.warning(
                "request failed",
                error=outcome.error,
                kind=str(ask.kind),
                question=ask.question,
                mode=ask.mode,
                stream=ask.stream,
                max_tokens=ask.max_tokens,
                seconds=round(outcome.latency_s, 3),
            )
        self._bucket(outcome.finished_at).outcomes.append(outcome)
        self.mix.answered(outcome.ask, outcome.ok and outcome.finish_reason == "stop")

    async def drive(self) -> None:
        while time.monotonic() < self.ends:
            asks = [self.mix.next_ask() for _ in range(self.mix.batch_size())]
            outcomes = await asyncio.gather(*(send(self.client, ask) for ask in asks))
            for outcome in outcomes:
                self._record(outcome)
            pause = min(self.mix.pause_s(), self.ends - time.monotonic())
            if pause > IDLE_GAP_S:
                self._bucket(time.monotonic()).idle_gaps += 1
            if pause > 0:
                await asyncio.sleep(pause)

    async def _close(self, index: int, now: float) -> None:
        seconds = min(now, self.ends) - (self.started + 60 * index)
        usage = await asyncio.to_thread(self.processes.sample, now)
        groups: dict[str, GroupView] = await self.probe.groups() if self.probe else {}
        minute = self.buckets[index].close(max(seconds, 1e-9), usage, groups)
        self.minutes.append(minute)
        self.console.print(line(minute))
        if self.config.jsonl:
            with self.config.jsonl.open("a", encoding="utf-8") as out:
                out.write(minute.model_dump_json() + "\n")

    async def report(self, driving: asyncio.Task[None]) -> None:
        """Close every full minute on time; the last one once the driver is done."""
        for index in range(self.count - 1):
            await asyncio.sleep(max(0.0, self.started + 60 * (index + 1) - time.monotonic()))
            await self._close(index, time.monotonic())
        await driving
        await self._close(self.count - 1, time.monotonic())

    async def run(self) -> list[Minute]:
        await asyncio.to_thread(self.processes.sample, time.monotonic())  # CPU baseline
        self.console.print(header())
        driving = asyncio.create_task(self.drive())
        try:
            await self.report(driving)
        finally:
            driving.cancel()
            await asyncio.gather(driving, return_exceptions=True)
            await self.client.close()
        return self.minutes


async def _lag_probe(bootstrap: str, stack: AsyncExitStack) -> LagProbe | None:
    """A started probe, or None (and a log line) if the broker does not answer: the soak
    still runs, it is the stack's answers that it measures."""
    probe = LagProbe(bootstrap)
    stack.push_async_callback(probe.close)
    try:
        await probe.start()
    except Exception as exc:  # an unreachable broker is a finding, reported per minute
        log.warning("no consumer-group figures", bootstrap=bootstrap, error=repr(exc))
        return None
    return probe


async def soak(config: SoakConfig, console: Console | None = None) -> tuple[list[Minute], Verdict]:
    """Run the soak against a running stack; raises NotAStack before sending anything."""
    console = console or Console(highlight=False, soft_wrap=True)
    check_loopback(config.gateway_url)
    await check_gateway(config)
    processes = await asyncio.to_thread(StackProcesses.find, config.port)
    bootstrap = config.bootstrap or processes.kafka_url()
    names = ", ".join(processes.components) or "none found"
    console.print(
        f"soak: {config.minutes:g} min against {config.api_url}, profile {config.profile}, "
        f"seed {config.seed}; processes: {names}; broker: {bootstrap or 'unknown'}"
    )
    async with AsyncExitStack() as stack:
        probe = await _lag_probe(bootstrap, stack) if config.lag and bootstrap else None
        minutes = await Soak(config, processes, probe, console).run()
    return minutes, verdict(minutes, config.max_error_share)

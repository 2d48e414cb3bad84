"""The whole local stack: broker and topics, graph DB, model server, then the services;
each stage waits until healthy; everything stops in reverse order."""

from __future__ import annotations

import asyncio
import shutil
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

import structlog

from contracts.topics import topic_partitions
from deploy.local.broker import (
    broker_component,
    create_topics,
    format_log,
    prepare,
    wait_for_broker,
)
from deploy.local.component import Component, stop_all
from deploy.local.config import StackConfig
from deploy.local.errors import ComponentError
from deploy.local.graphdb import graphdb_component
from deploy.local.llm import llm_component
from deploy.local.ports import ensure_ports_free
from deploy.local.services import service_components
from deploy.local.supervisor import Supervisor

log = structlog.get_logger("deploy.local")

STOP_GRACE_S = 10.0


class StackObserver(Protocol):
    """Receives the stack's progress; the CLI shows it live, tests log it."""

    def step_started(self, name: str, detail: str) -> None: ...
    def step_done(self, name: str, seconds: float) -> None: ...
    def step_failed(self, name: str, reason: str) -> None: ...
    def ready(self, stack: LocalStack) -> None: ...
    def stopping(self, names: Sequence[str]) -> None: ...
    def restarted(self, name: str, reason: str, restarts: int) -> None: ...


class LogObserver:
    """Progress as structured log lines (tests, non-interactive runs)."""

    def step_started(self, name: str, detail: str) -> None:
        log.info("starting", component=name, detail=detail)

    def step_done(self, name: str, seconds: float) -> None:
        log.info("healthy", component=name, seconds=round(seconds, 2))

    def step_failed(self, name: str, reason: str) -> None:
        log.error("failed", component=name, reason=reason)

    def ready(self, stack: LocalStack) -> None:
        log.info("stack ready", api=stack.config.api_url, logs=str(stack.config.log_dir))

    def stopping(self, names: Sequence[str]) -> None:
        log.info("stopping", components=list(names))

    def restarted(self, name: str, reason: str, restarts: int) -> None:
        log.warning("component restarted", component=name, reason=reason, restarts=restarts)


@dataclass(frozen=True)
class StackPlan:
    broker: Component | None  # None: an existing cluster (kafka_bootstrap)
    infra: list[Component]
    services: list[Component]

    def all(self) -> list[Component]:
        return [*([self.broker] if self.broker else []), *self.infra, *self.services]


class LocalStack:
    """Start with `await stack.start()` or `async with LocalStack(config) as stack:`;
    `serve()` runs it in the foreground until Ctrl-C/SIGTERM or a component dies."""

    def __init__(self, config: StackConfig | None = None, observer: StackObserver | None = None):
        self.config = config or StackConfig()
        self.observer: StackObserver = observer or LogObserver()
        self._stages: list[list[Component]] = []  # spawned, in start order

    @property
    def components(self) -> list[Component]:
        return [component for stage in self._stages for component in stage]

    def component(self, name: str) -> Component:
        for component in self.components:
            if component.name == name:
                return component
        raise KeyError(f"no component {name!r} in this stack")

    def plan(self) -> StackPlan:
        """What to start, by stage; components of one stage start together."""
        config = self.config.model_copy(
            update={
                "log_dir": self.config.log_dir.resolve(),
                "state_dir": self.config.state_dir.resolve(),
            }
        )
        infra: list[Component] = []
        if config.start_graphdb:
            infra.append(graphdb_component(config.graph_port, config.bolt_port, config.log_dir))
        if config.runs_llm:
            infra.append(llm_component(config.llm_port, config.log_dir))
        return StackPlan(
            broker=broker_component(config.kafka_node(), config.log_dir)
            if config.runs_broker
            else None,
            infra=infra,
            services=service_components(config),
        )

    async def start(self) -> None:
        """Start every stage; on failure (or cancellation) stop what was started and raise."""
        if self._stages:
            raise RuntimeError("the stack is already started")
        plan = self.plan()
        for component in plan.all():  # fail fast, before anything runs
            ensure_ports_free(component.name, component.ports)
        try:
            if plan.broker:
                await self._prepare_broker()
                await self._start_stage([plan.broker])
            await self._create_topics()
            await self._start_stage(plan.infra)
            await self._start_stage(plan.services)
        except BaseException:
            await self.stop()
            raise

    async def _start_stage(self, stage: list[Component]) -> None:
        if not stage:
            return
        self._stages.append(stage)
        for component in stage:
            self.observer.step_started(component.name, component.url or "")
            component.spawn()
        waits = [asyncio.create_task(self._wait(component)) for component in stage]
        try:
            await asyncio.gather(*waits)
        finally:
            for wait in waits:
                wait.cancel()
            await asyncio.gather(*waits, return_exceptions=True)

    async def _wait(self, component: Component) -> None:
        try:
            seconds = await component.wait_healthy()
        except ComponentError as exc:
            self.observer.step_failed(component.name, exc.reason)
            raise
        self.observer.step_done(component.name, seconds)

    async def _prepare_broker(self) -> None:
        """Format the broker's log on a first start (or with `fresh`); keep it otherwise."""
        node = self.config.kafka_node()
        loop = asyncio.get_running_loop()
        began = loop.time()
        if self.config.fresh:
            await asyncio.to_thread(shutil.rmtree, node.state_dir, ignore_errors=True)
        detail = "kept from the last run" if node.formatted else "formatting a new log"
        self.observer.step_started("broker storage", f"{node.data_dir} ({detail})")
        try:
            await asyncio.to_thread(prepare, node, format_log(self.config.log_dir))
        except ComponentError as exc:
            self.observer.step_failed("broker storage", exc.reason)
            raise
        self.observer.step_done("broker storage", loop.time() - began)

    async def _create_topics(self) -> None:
        loop = asyncio.get_running_loop()
        began = loop.time()
        partitions = topic_partitions(self.config.partitions)
        self.observer.step_started("topics", f"{len(partitions)} topics")
        try:
            if not self.config.runs_broker:
                await wait_for_broker(self.config.bootstrap)
            await create_topics(self.config.bootstrap, partitions, self.config.retention_hours)
        except Exception as exc:
            self.observer.step_failed("topics", str(exc))
            raise
        self.observer.step_done("topics", loop.time() - began)

    async def stop(self) -> None:
        """Stop everything started, services first, in reverse stage order; idempotent."""
        stages, self._stages = self._stages, []
        if not stages:
            return
        self.observer.stopping([c.name for stage in reversed(stages) for c in stage])
        await asyncio.to_thread(_stop_stages, stages)

    async def __aenter__(self) -> LocalStack:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def serve(self) -> None:
        """Start, then run until SIGINT/SIGTERM, restarting any component that exits or
        stops answering (deploy.local.supervisor); always stops everything."""
        loop = asyncio.get_running_loop()
        stop_requested = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop_requested.set)
        try:
            starting = asyncio.create_task(self.start())
            waiting = asyncio.create_task(stop_requested.wait())
            await asyncio.wait({starting, waiting}, return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
            if not starting.done():  # interrupted while starting: start() cleans up
                starting.cancel()
                await asyncio.gather(starting, return_exceptions=True)
                return
            starting.result()
            self.observer.ready(self)
            await self._watch(stop_requested)
        finally:
            await self.stop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    async def _watch(self, stop_requested: asyncio.Event) -> None:
        supervisor = Supervisor(self.components, self.observer.restarted)
        await supervisor.run(stop_requested)


def _stop_stages(stages: list[list[Component]]) -> None:
    for stage in reversed(stages):
        stop_all(stage, STOP_GRACE_S)

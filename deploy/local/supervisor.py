"""Keeps a started stack running: a component that exits, or that fails its liveness
check several times in a row, is restarted (with a growing pause if it keeps failing),
and every restart is logged and shown."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import structlog

from deploy.local.component import Component
from deploy.local.errors import ComponentError, StackError

log = structlog.get_logger("deploy.local")


@dataclass(frozen=True)
class Policy:
    exit_check_s: float = 1.0
    liveness_every_s: float = 10.0
    failed_checks_before_restart: int = 3  # 30 s unresponsive: not a GC pause or a busy moment
    first_backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    stable_after_s: float = 120.0  # running this long after a restart resets the backoff


Restarted = Callable[[str, str, int], None]
"""(component name, reason, restarts so far): the observer's hook."""


@dataclass
class _Watch:
    component: Component
    restarts: int = 0
    failed_checks: int = 0
    next_check: float = 0.0
    backoff_s: float = 0.0
    started_at: float = field(default_factory=time.monotonic)
    restarting: asyncio.Task[None] | None = None


class Supervisor:
    """`await supervisor.run(stop)` watches until `stop` is set."""

    def __init__(
        self, components: Sequence[Component], on_restart: Restarted, policy: Policy = Policy()
    ) -> None:
        self.policy = policy
        first_check = time.monotonic() + policy.liveness_every_s
        self._watches = [
            _Watch(c, next_check=first_check, backoff_s=policy.first_backoff_s) for c in components
        ]
        self._on_restart = on_restart

    @property
    def restarts(self) -> dict[str, int]:
        return {w.component.name: w.restarts for w in self._watches}

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                await asyncio.gather(*(self._check(w) for w in self._watches))
                try:
                    await asyncio.wait_for(stop.wait(), timeout=self.policy.exit_check_s)
                except TimeoutError:
                    continue
        finally:
            pending = [w.restarting for w in self._watches if w.restarting]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _check(self, watch: _Watch) -> None:
        if watch.restarting is not None and not watch.restarting.done():
            return
        component = watch.component
        if component.returncode is not None:
            self._restart(watch, f"exited with code {component.returncode}")
            return
        now = time.monotonic()
        if now < watch.next_check:
            return
        watch.next_check = now + self.policy.liveness_every_s
        alive, why = await component.probe(liveness=True)
        if alive:
            watch.failed_checks = 0
            if now - watch.started_at > self.policy.stable_after_s:
                watch.backoff_s = self.policy.first_backoff_s
            return
        watch.failed_checks += 1
        log.warning("liveness check failed", component=component.name, reason=why,
                    in_a_row=watch.failed_checks)  # fmt: skip
        if watch.failed_checks >= self.policy.failed_checks_before_restart:
            self._restart(watch, f"unresponsive for {watch.failed_checks} checks ({why})")

    def _restart(self, watch: _Watch, reason: str) -> None:
        watch.restarts += 1
        watch.failed_checks = 0
        log.warning("restarting", component=watch.component.name, reason=reason,
                    restarts=watch.restarts, after_s=watch.backoff_s)  # fmt: skip
        self._on_restart(watch.component.name, reason, watch.restarts)
        watch.restarting = asyncio.create_task(self._respawn(watch, reason, watch.backoff_s))
        watch.backoff_s = min(watch.backoff_s * 2, self.policy.max_backoff_s)

    async def _respawn(self, watch: _Watch, reason: str, pause_s: float) -> None:
        component = watch.component
        await asyncio.to_thread(component.stop)
        await asyncio.sleep(pause_s)
        try:
            component.spawn(restart_reason=reason)
            await component.wait_healthy()
        except ComponentError as exc:  # the next check sees it and tries again, later
            log.error("restart failed", component=component.name, reason=exc.reason)
        except StackError as exc:  # e.g. its port not released yet
            log.error("restart failed", component=component.name, reason=str(exc))
        watch.started_at = time.monotonic()
        watch.next_check = watch.started_at + self.policy.liveness_every_s

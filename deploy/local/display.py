"""The launcher's terminal view: a live table of components while the stack starts,
then where the API is and how to call it."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from deploy.local.llm import PARALLEL_SLOTS

if TYPE_CHECKING:
    from deploy.local.config import StackConfig
    from deploy.local.stack import LocalStack


@dataclass
class _Step:
    detail: str
    began: float = field(default_factory=time.monotonic)
    seconds: float | None = None
    failure: str | None = None


class RichObserver:
    """Shows the start-up live; use as a context manager around `LocalStack.serve()`."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console()
        self._steps: dict[str, _Step] = {}
        self._live = Live(
            console=self.console, refresh_per_second=8, transient=False, get_renderable=self._table
        )

    def __enter__(self) -> RichObserver:
        self._live.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._live.stop()

    def _table(self) -> RenderableType:
        table = Table(box=None, show_header=False, padding=(0, 2, 0, 0))
        for name, step in self._steps.items():
            if step.failure is not None:
                state: RenderableType = Text("✗ failed", style="bold red")
                note = Text(step.failure, style="red")
            elif step.seconds is not None:
                state = Text("✓ ready", style="green")
                note = Text(f"{step.seconds:.1f}s", style="dim")
            else:
                elapsed = time.monotonic() - step.began
                state = Spinner("dots", text=Text("starting", style="yellow"))
                note = Text(f"{elapsed:.0f}s", style="dim")
            table.add_row(Text(name, style="bold"), state, Text(step.detail, style="cyan"), note)
        return Group(Text("Starting the local stack", style="bold"), table)

    def step_started(self, name: str, detail: str) -> None:
        self._steps[name] = _Step(detail)

    def step_done(self, name: str, seconds: float) -> None:
        self._steps[name].seconds = seconds

    def step_failed(self, name: str, reason: str) -> None:
        step = self._steps.setdefault(name, _Step(""))
        step.failure = reason

    def ready(self, stack: LocalStack) -> None:
        self._live.refresh()
        self._live.stop()
        self.console.print(ready_panel(stack))

    def restarted(self, name: str, reason: str, restarts: int) -> None:
        self.console.print(
            f"[bold yellow]↻ {name}[/bold yellow] restarted ({reason}); "
            f"restarts so far: {restarts}",
            highlight=False,
        )

    def stopping(self, names: Sequence[str]) -> None:
        if self._live.is_started:
            self._live.stop()
        self.console.print(f"[bold]Stopping[/bold] {', '.join(names)} …")


def ready_panel(stack: LocalStack) -> Panel:
    config = stack.config
    curl = (
        f"curl -N {config.api_url}/chat/completions \\\n"
        "  -H 'Content-Type: application/json' \\\n"
        '  -d \'{"model": "moe-orchestrator", "stream": true,\n'
        '       "messages": [{"role": "user", "content": "What is Kafka?"}]}\''
    )
    servers = ", ".join(f"{s.name}={s.url}" for s in config.servers())
    body = Group(
        Text.assemble(("API  ", "bold"), (config.api_url, "bold cyan"), "  (OpenAI-compatible)"),
        Text.assemble(("models  ", "bold"), servers),
        *([model_load_line(config)] if config.runs_llm else []),
        Text.assemble(("logs  ", "bold"), str(config.log_dir.resolve())),
        Text(""),
        Text("Try it:", style="bold"),
        Text(curl, style="green"),
        Text(""),
        Text("Ctrl-C stops everything.", style="dim"),
    )
    return Panel(body, title="[bold green]local stack ready", expand=False)


def model_load_line(config: StackConfig) -> Text:
    """Where the local model server's busy slots and queued requests show."""
    health = config.api_url.removesuffix("/v1") + "/health"
    metrics = f"http://127.0.0.1:{config.llm_port}/metrics"
    return Text.assemble(
        ("model load  ", "bold"),
        f"{PARALLEL_SLOTS} requests at once, more wait; busy and queued: {health}, {metrics}",
    )

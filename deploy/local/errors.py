"""Why the local stack could not start; every message says what to do about it."""

from __future__ import annotations

from pathlib import Path


class StackError(RuntimeError):
    """Base of every launcher failure the CLI reports without a traceback."""


class PortInUseError(StackError):
    """A port a component needs is already taken."""


class MissingBinaryError(StackError):
    """An embedded component is not installed."""


class TopicSetupError(StackError):
    """A topic could not be created, or exists with another partition count."""


class ComponentError(StackError):
    """A component did not start, did not become healthy, or died; carries its log tail."""

    def __init__(self, component: str, reason: str, log_path: Path, log_tail: str) -> None:
        self.component = component
        self.reason = reason
        self.log_path = log_path
        self.log_tail = log_tail
        tail = log_tail.rstrip() or "(the log is empty)"
        super().__init__(f"{component} {reason}.\n--- last lines of {log_path} ---\n{tail}\n---")

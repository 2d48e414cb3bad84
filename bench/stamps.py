"""Emission timestamps carried inside scripted tokens.

The scripted model appends `<@unix-seconds>` to each token it emits, and the benchmark
client reads it back from whatever relayed the token (gateway, LiteLLM, nothing), so the
relay delay of every token is measured where it matters: model emission → client receipt.
Both ends run on this machine, so they share one wall clock."""

from __future__ import annotations

import re
import time

_STAMP = re.compile(r"<@(\d+\.\d+)>")


def stamp(token: str, at: float | None = None) -> str:
    """`token` with its emission time appended (now, unless given)."""
    return f"{token}<@{time.time() if at is None else at:.6f}>"


def read_stamps(text: str) -> list[float]:
    """Every emission time found in `text`, in order (one per token relayed)."""
    return [float(match) for match in _STAMP.findall(text)]

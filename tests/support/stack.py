"""The whole local stack for an end-to-end test: every port free, its own broker state
and logs in temporary folders, the real model server."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.local import StackConfig, free_port


def local_stack_config(tmp_path_factory: pytest.TempPathFactory, name: str) -> StackConfig:
    return StackConfig(
        broker_port=free_port(),
        controller_port=free_port(),
        state_dir=Path(tmp_path_factory.mktemp(f"{name}-state")),
        graph_port=free_port(),
        bolt_port=free_port(max_port=32767),
        llm_port=free_port(),
        gateway_port=free_port(),
        tools_port=free_port(),
        ingest_port=free_port(),
        log_dir=Path(tmp_path_factory.mktemp(f"{name}-logs")),
    )

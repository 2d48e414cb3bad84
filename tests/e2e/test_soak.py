"""The soak in its reduced form: the whole local stack, as `make run` starts it, driven
for about a minute and a half with the soak's realistic mix (model answers, tool answers,
cache hits, pairs, an idle gap past the client's keep-alive expiry). No timing is
asserted (the machine is shared): only that nothing failed and every minute served."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bench.soak_config import SoakConfig
from bench.soak_mix import MixProfile
from bench.soak_run import soak
from deploy.local import LocalStack
from tests.support.stack import local_stack_config

pytestmark = pytest.mark.e2e

MINUTES = 1.5


@pytest.fixture(scope="module")
async def gateway_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    config = local_stack_config(tmp_path_factory, "soak-stack")
    async with LocalStack(config):
        yield config.api_url.removesuffix("/v1")


@pytest.mark.timeout(60 * MINUTES + 240)
async def test_soak_serves_every_minute_without_errors(gateway_url: str, tmp_path: Path) -> None:
    # More idle gaps than the default mix, so that this short run has some.
    mix = MixProfile(gap_share=0.08)
    config = SoakConfig(
        minutes=MINUTES, gateway_url=gateway_url, seed=7, mix=mix, jsonl=tmp_path / "soak.jsonl"
    )
    minutes, result = await soak(config)

    assert [m.minute for m in minutes] == [1, 2]
    assert result.errors == 0, [m.errors for m in minutes]
    assert result.minutes_without_success == []
    kinds = {kind for m in minutes for kind in m.by_kind}
    assert {"expert", "tool", "repeat"} <= kinds
    assert sum(m.cache_hits for m in minutes) > 0
    assert sum(m.idle_gaps for m in minutes) > 0
    found = set(minutes[0].processes)
    assert {"broker", "gateway", "planner", "experts", "merger", "tools", "llm"} <= found
    assert all(u.rss_mb > 0 for u in minutes[-1].processes.values())
    assert len((tmp_path / "soak.jsonl").read_text().splitlines()) == len(minutes)

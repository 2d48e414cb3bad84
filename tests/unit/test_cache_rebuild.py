"""A view's catch-up (the planner's answer cache, the experts' scores): ready once every
partition of the view's topics has been read up to where it ended at start-up; requests
wait for that, but not forever."""

from __future__ import annotations

import asyncio

from contracts.view_catch_up import ViewCatchUp


def rebuilding(pending: dict[tuple[str, int], int], max_wait_s: float = 5.0) -> ViewCatchUp:
    rebuild = ViewCatchUp(
        "unused:9092", ["moe.answers", "moe.feedback"], max_wait_s, "answer_cache"
    )
    rebuild._pending = dict(pending)  # as start() finds them, without a broker
    return rebuild


async def test_ready_once_every_partition_is_read_to_its_end() -> None:
    rebuild = rebuilding({("moe.answers", 0): 4, ("moe.feedback", 1): 0})
    waiting = asyncio.create_task(rebuild.wait())
    rebuild.seen("moe.answers", 0, 3)
    rebuild.seen("moe.feedback", 1, 0)
    await asyncio.sleep(0.01)
    assert not rebuild.ready and not waiting.done()
    rebuild.seen("moe.answers", 0, 4)
    await asyncio.wait_for(waiting, 1.0)
    assert rebuild.ready


async def test_requests_stop_waiting_after_the_bound() -> None:
    rebuild = rebuilding({("moe.answers", 1): 10}, max_wait_s=0.05)
    await asyncio.wait_for(rebuild.wait(), 1.0)
    assert rebuild.ready  # serves from then on, the view filling as events arrive


async def test_an_unreachable_broker_does_not_hold_requests() -> None:
    rebuild = ViewCatchUp("127.0.0.1:1", ["moe.answers"], 30.0, "answer_cache")
    await asyncio.wait_for(rebuild.start(), 30.0)
    assert rebuild.ready

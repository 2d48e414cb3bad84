"""The gateway's broker watch: requests waiting for replies end with a 503 naming the
broker once it has been unreachable for a while; a broker that answers changes nothing."""

from __future__ import annotations

import asyncio
from typing import cast

from faststream.kafka import KafkaBroker

from contracts import ReplyError
from services.gateway.broker_watch import BrokerWatch
from services.gateway.replies import PendingReplies


class StandInBroker:
    def __init__(self) -> None:
        self.reachable = True

    async def ping(self, timeout: float | None) -> bool:  # noqa: ASYNC109 - KafkaBroker.ping
        return self.reachable


def watching(broker: StandInBroker, pending: PendingReplies) -> BrokerWatch:
    return BrokerWatch(cast(KafkaBroker, broker), pending, check_s=0.01, lost_after_s=0.05)


async def test_waiting_requests_end_with_503_once_the_broker_is_lost() -> None:
    broker, pending = StandInBroker(), PendingReplies(8)
    streams = [pending.open(f"r{i}", timeout_s=60) for i in range(2)]
    watch = watching(broker, pending)
    await watch.check()
    broker.reachable = False
    await watch.check()  # unreachable, but not for long yet
    assert all(s._queue.empty() for s in streams)
    await asyncio.sleep(0.06)
    await watch.check()
    errors = [await asyncio.wait_for(s.next(), 1) for s in streams]
    assert all(isinstance(e, ReplyError) and e.status == 503 for e in errors)
    assert [e.request_id for e in errors] == ["r0", "r1"]
    assert "Lost the broker" in cast(ReplyError, errors[0]).message


async def test_a_broker_back_in_time_fails_nothing() -> None:
    broker, pending = StandInBroker(), PendingReplies(8)
    stream = pending.open("r", timeout_s=60)
    watch = watching(broker, pending)
    broker.reachable = False
    await watch.check()
    broker.reachable = True
    await asyncio.sleep(0.06)
    await watch.check()
    broker.reachable = False
    await watch.check()  # a new outage starts its own clock
    assert stream._queue.empty()

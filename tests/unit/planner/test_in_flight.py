"""Identical requests in flight: followers wait for their leader's answer, never for a
leader that is gone, and never past their own deadline."""

from __future__ import annotations

import asyncio
import time

from services.planner.in_flight import InFlight


async def test_follower_is_released_when_the_leaders_answer_is_applied() -> None:
    in_flight = InFlight(max_wait_s=10)
    in_flight.start("key", "leader-1")
    leader = in_flight.leader("key")
    assert leader is not None and leader.request_id == "leader-1"
    waiting = asyncio.create_task(in_flight.wait(leader, None))
    await asyncio.sleep(0)
    assert not waiting.done()
    in_flight.answered("leader-1")
    assert await waiting is True
    assert in_flight.leader("key") is None and len(in_flight) == 0


async def test_an_answer_of_another_request_releases_nobody() -> None:
    in_flight = InFlight(max_wait_s=10)
    in_flight.start("key", "leader-1")
    in_flight.answered("someone-else")
    leader = in_flight.leader("key")
    assert leader is not None and not leader.answered.is_set()


async def test_a_leader_that_never_answers_is_forgotten_and_its_followers_give_up() -> None:
    in_flight = InFlight(max_wait_s=0.05)
    in_flight.start("key", "leader-1")
    leader = in_flight.leader("key")
    assert leader is not None
    assert await in_flight.wait(leader, None) is False
    assert in_flight.leader("key") is None


async def test_a_follower_waits_no_longer_than_its_deadline() -> None:
    in_flight = InFlight(max_wait_s=60)
    in_flight.start("key", "leader-1")
    leader = in_flight.leader("key")
    assert leader is not None
    assert await in_flight.wait(leader, deadline_at=time.time() + 0.05) is False


async def test_a_new_leader_for_the_same_key_replaces_the_old_one() -> None:
    in_flight = InFlight(max_wait_s=60)
    in_flight.start("key", "leader-1")
    in_flight.start("key", "leader-2")
    in_flight.answered("leader-1")  # late answer of the replaced leader: no effect
    leader = in_flight.leader("key")
    assert leader is not None and leader.request_id == "leader-2"

import asyncio
from typing import Any

import pytest

from contracts import ReplyChunk, wire
from contracts.wire import NotDelivered, Unconfirmed, publish_event


class FlakyBroker:
    """Accepts every publish at once and fails the acknowledgement of the second."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def publish(self, body: dict[str, Any], topic: str, **_: Any) -> asyncio.Future[None]:
        self.sent.append(body)
        acknowledged: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if len(self.sent) == 2:
            acknowledged.set_exception(ConnectionError("broker gone"))
        else:
            acknowledged.set_result(None)
        return acknowledged


async def test_unconfirmed_sends_are_all_out_before_any_is_confirmed() -> None:
    broker = FlakyBroker()
    sent = Unconfirmed(broker)  # type: ignore[arg-type]
    for seq in range(3):
        await sent.send(ReplyChunk(request_id="r", seq=seq, delta=str(seq)), "moe.replies")
    assert [body["seq"] for body in broker.sent] == [0, 1, 2]
    failure = await sent.confirm()
    assert failure is not None and "1 event(s) not delivered" in failure
    assert "broker gone" in failure
    assert await sent.confirm() is None  # confirmed sends are forgotten


async def test_confirmed_raises_when_an_event_was_not_delivered() -> None:
    sent = Unconfirmed(FlakyBroker())  # type: ignore[arg-type]
    for seq in range(2):
        await sent.send(ReplyChunk(request_id="r", seq=seq, delta="x"), "moe.replies")
    with pytest.raises(NotDelivered, match="broker gone"):
        await sent.confirmed()


class SilentBroker:
    """Takes every event and never acknowledges one, as a broker that went away does."""

    async def publish(self, body: dict[str, Any], topic: str, **options: Any) -> Any:
        if options.get("no_confirm"):
            return asyncio.get_running_loop().create_future()
        await asyncio.Event().wait()


async def test_a_publish_never_acknowledged_fails_in_time_naming_the_topic() -> None:
    chunk = ReplyChunk(request_id="r", seq=0, delta="x")
    started = asyncio.get_running_loop().time()
    with pytest.raises(NotDelivered, match=r"^moe\.replies: not acknowledged .* within 0\.1 s$"):
        await publish_event(SilentBroker(), chunk, "moe.replies", timeout_s=0.1)  # type: ignore[arg-type]
    assert asyncio.get_running_loop().time() - started < 1.0


async def test_sends_never_acknowledged_are_reported_after_the_publish_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(wire, "PUBLISH_TIMEOUT_S", 0.3)
    sent = Unconfirmed(SilentBroker())  # type: ignore[arg-type]
    await sent.send(ReplyChunk(request_id="r", seq=0, delta="x"), "moe.replies")
    # settle() gives up soon, and leaves the reporting to confirm().
    await asyncio.wait_for(sent.settle(), wire.SETTLE_WAIT_S * 5)
    assert await sent.confirm() == "1 event(s) not acknowledged within 0.3 s"


class LateBroker:
    """Takes every event at once and acknowledges each when the test says so."""

    def __init__(self) -> None:
        self.acks: list[asyncio.Future[None]] = []

    async def publish(self, body: dict[str, Any], topic: str, **_: Any) -> asyncio.Future[None]:
        self.acks.append(asyncio.get_running_loop().create_future())
        return self.acks[-1]


async def test_settle_waits_for_the_acknowledgements_and_leaves_their_outcome_to_confirm(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(wire, "SETTLE_WAIT_S", 5.0)
    broker = LateBroker()
    sent = Unconfirmed(broker)  # type: ignore[arg-type]
    for seq in range(2):
        await sent.send(ReplyChunk(request_id="r", seq=seq, delta="x"), "moe.replies")
    settling = asyncio.create_task(sent.settle())
    await asyncio.sleep(0.05)
    assert not settling.done()
    broker.acks[0].set_result(None)
    await asyncio.sleep(0.05)
    assert not settling.done()  # one acknowledgement is still to come
    broker.acks[1].set_exception(ConnectionError("broker gone"))
    await asyncio.wait_for(settling, 1.0)
    failure = await sent.confirm()
    assert failure is not None and "1 event(s) not delivered" in failure

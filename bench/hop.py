"""What one FastStream hop costs over the raw broker, and which part of FastStream.

An echo service consumes an event and publishes it on, the way every worker does; the
benchmark times event in → echoed event out (two broker hops) for:
  raw        aiokafka consumer and producer, no framework: the physical floor of 2 hops
  bare       FastStream, no middlewares, the broker taken from a closure
  wire       FastStream with the services' middlewares (contracts.wire.make_broker:
             OpenTelemetry tracing, dead-letter handler), broker from a closure
  services   as the services are written today: make_broker, and the broker injected
             into the handler with `broker: KafkaBroker` (FastStream's Context)
Each runs in this process, one event in flight at a time, nothing else running."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from faststream.kafka import KafkaBroker
from faststream.kafka import TopicPartition as FastStreamPartition
from faststream.kafka.annotations import KafkaBroker as ContextBroker

from bench.probe import probe
from contracts import ChatMessage, RequestReceived
from contracts.wire import FETCH_MAX_WAIT_MS, make_broker, publish_event
from deploy.local import create_topics

VARIANTS = ("raw", "bare", "wire", "services")
Echo = Callable[[str, str], Awaitable[Callable[[], Awaitable[None]]]]
"""Starts an echo from one topic to another; returns its stop function."""


def sample_event(index: int) -> RequestReceived:
    text = f"Explain event sourcing in two sentences (hop probe {index})."
    return RequestReceived(
        request_id=f"hop-{index}",
        messages=[ChatMessage(role="user", content=text)],
        model="moe-orchestrator",
    )


async def _raw(bootstrap: str, source: str, target: str) -> Callable[[], Awaitable[None]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, fetch_max_wait_ms=FETCH_MAX_WAIT_MS)
    consumer.assign([TopicPartition(source, 0)])
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await asyncio.gather(consumer.start(), producer.start())

    async def loop() -> None:
        async for record in consumer:
            event = RequestReceived.model_validate_json(record.value or b"")
            await producer.send_and_wait(target, event.model_dump_json().encode(), key=record.key)

    task = asyncio.create_task(loop())

    async def stop() -> None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await asyncio.gather(consumer.stop(), producer.stop())

    return stop


async def _faststream(
    broker: KafkaBroker, source: str, target: str, inject: bool
) -> Callable[[], Awaitable[None]]:
    subscriber = broker.subscriber(
        partitions=[FastStreamPartition(source, 0)], fetch_max_wait_ms=FETCH_MAX_WAIT_MS
    )
    if inject:

        @subscriber
        async def echo_injected(event: RequestReceived, injected: ContextBroker) -> None:
            await publish_event(injected, event, target)
    else:

        @subscriber
        async def echo(event: RequestReceived) -> None:
            await publish_event(broker, event, target)

    await broker.start()
    return broker.stop


async def start_echo(
    variant: str, bootstrap: str, source: str, target: str
) -> Callable[[], Awaitable[None]]:
    if variant == "raw":
        return await _raw(bootstrap, source, target)
    if variant == "bare":
        # Per-message logs at DEBUG, as make_broker sets them: at INFO they would cost.
        bare = KafkaBroker(bootstrap, log_level=logging.DEBUG)
        return await _faststream(bare, source, target, inject=False)
    wired = make_broker(bootstrap, "bench-hop")
    return await _faststream(wired, source, target, inject=variant == "services")


async def _warm_up(
    producer: AIOKafkaProducer, consumer: AIOKafkaConsumer, source: str, out: TopicPartition
) -> None:
    """Until the echo's consumer has its position, early events can be skipped: send
    until one comes back."""
    for warm in range(1, 32):
        payload = sample_event(-warm).model_dump_json().encode()
        await producer.send_and_wait(source, payload, key=b"hop")
        try:
            await asyncio.wait_for(consumer.getone(out), 1.0)
            return
        except TimeoutError:
            continue
    raise TimeoutError(f"the echo never answered on {out.topic}")


async def round_trips(bootstrap: str, variant: str, messages: int) -> list[float]:
    """Seconds from publishing an event to receiving its echo, one at a time."""
    source, target = f"bench.hop.{variant}.in", f"bench.hop.{variant}.out"
    await create_topics(bootstrap, {source: 1, target: 1})
    stop = await start_echo(variant, bootstrap, source, target)
    out = TopicPartition(target, 0)
    samples: list[float] = []
    try:
        async with probe(bootstrap, out) as (producer, consumer):
            await _warm_up(producer, consumer, source, out)
            for index in range(messages):
                payload = sample_event(index).model_dump_json().encode()
                started = time.perf_counter()
                await producer.send_and_wait(source, payload, key=b"hop")
                await asyncio.wait_for(consumer.getone(out), 10.0)
                samples.append(time.perf_counter() - started)
    finally:
        await stop()
    return samples

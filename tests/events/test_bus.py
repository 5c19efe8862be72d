"""The in-process event bus: fan-out by kind, bounded queues that drop the oldest, clean unsubscribe."""

from __future__ import annotations

import asyncio

import pytest

from vtrack.events.bus import Event, EventBus


async def test_subscribers_get_the_kinds_they_asked_for() -> None:
    bus = EventBus()
    cameras = bus.subscribe(["camera.*"])
    exact = bus.subscribe(["camera.status_changed"])
    everything = bus.subscribe()
    bus.publish("camera.status_changed", "camera", "c1", {"from": "online", "to": "offline"})
    bus.publish("camera.snapshot", "camera", "c1")
    bus.publish("sync.done", "source", "s1")
    assert [e.kind for e in [await cameras.get(1), await cameras.get(1)]] == [
        "camera.status_changed",
        "camera.snapshot",
    ]
    first = await exact.get(1)
    assert (first.subject_type, first.subject_id, first.payload) == (
        "camera",
        "c1",
        {"from": "online", "to": "offline"},
    )
    assert exact.pending() == 0 and cameras.pending() == 0
    assert [e.kind for e in [await everything.get(1) for _ in range(3)]] == [
        "camera.status_changed",
        "camera.snapshot",
        "sync.done",
    ]


async def test_a_slow_subscriber_loses_the_oldest_events_and_never_blocks_the_publisher() -> None:
    bus = EventBus(queue_size=3)
    slow = bus.subscribe()
    for n in range(10):
        bus.publish("tick", "clock", str(n))  # returns at once although nobody reads
    assert slow.dropped == 7
    assert [(await slow.get(1)).subject_id for _ in range(3)] == ["7", "8", "9"]


async def test_iteration_ends_when_the_subscription_closes() -> None:
    bus = EventBus()
    received: list[Event] = []

    async def listen() -> None:
        async with bus.subscribe(["a"]) as subscription:
            async for event in subscription:
                received.append(event)
                if len(received) == 2:
                    subscription.close()

    task = asyncio.create_task(listen())
    await asyncio.sleep(0)
    assert bus.subscriber_count == 1
    for n in range(4):
        bus.publish("a", "x", str(n))
    await asyncio.wait_for(task, 1)
    assert [e.subject_id for e in received] == ["0", "1"]
    assert bus.subscriber_count == 0
    bus.publish("a", "x", "after")  # nobody left: nothing happens


async def test_close_wakes_a_waiting_reader_even_with_a_full_queue() -> None:
    bus = EventBus(queue_size=1)
    subscription = bus.subscribe()
    waiter = asyncio.create_task(anext(subscription))
    await asyncio.sleep(0)
    subscription.close()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(waiter, 1)
    full = bus.subscribe()
    bus.publish("a", "x", "1")
    full.close()  # the sentinel still fits
    with pytest.raises(StopAsyncIteration):
        await full.get(1)


async def test_get_times_out() -> None:
    subscription = EventBus().subscribe()
    with pytest.raises(TimeoutError):
        await subscription.get(0.01)


def test_queue_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        EventBus().subscribe(queue_size=0)
    # 0 from the bus default is refused too rather than silently unbounded
    with pytest.raises(ValueError, match="at least 1"):
        EventBus(queue_size=0).subscribe()

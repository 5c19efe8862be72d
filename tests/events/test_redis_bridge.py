"""Bus -> Redis pub/sub against a real redis-server: wire format, routing, bounded drops, outages."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.peers.redis_server import RedisServer, running_redis
from vtrack.events.bus import EventBus
from vtrack.events.redis_bridge import RedisBridge, redis_events, safe_url

LOGGER = "vtrack.events.redis_bridge"
FAST: dict[str, Any] = {"backoff_initial": 0.05, "backoff_max": 0.2}


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with running_redis() as server:
        yield server


async def numpat(url: str) -> int:
    client = Redis.from_url(url)
    try:
        return await client.pubsub_numpat()
    finally:
        await client.aclose()


async def wait_until(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Counters change after the awaited pipeline call returns, a moment after Redis delivered."""
    for _ in range(int(within / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise TimeoutError(f"condition still false after {within} s")


async def wait_for_patterns(url: str, count: int = 1) -> None:
    """PSUBSCRIBE is not acknowledged to the caller of redis_events, so ask the server."""
    for _ in range(500):
        if await numpat(url) >= count:
            return
        await asyncio.sleep(0.01)
    raise TimeoutError(f"fewer than {count} pattern subscriptions on {url}")


class Consumer:
    def __init__(self, source: AsyncIterator[dict[str, Any]]) -> None:
        self.received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.error: BaseException | None = None
        self._task = asyncio.create_task(self._pump(source))

    async def _pump(self, source: AsyncIterator[dict[str, Any]]) -> None:
        try:
            async for event in source:
                self.received.put_nowait(event)
        except Exception as exc:
            self.error = exc

    async def get(self, within: float = 5.0) -> dict[str, Any]:
        async with asyncio.timeout(within):
            return await self.received.get()

    @property
    def done(self) -> bool:
        return self._task.done()

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


@contextlib.asynccontextmanager
async def consuming(url: str, pattern: str = "vtrack:analytics.*", **options: Any) -> AsyncIterator[Consumer]:
    before = await numpat(url)
    consumer = Consumer(redis_events(url, pattern, **options))
    try:
        await wait_for_patterns(url, before + 1)
        yield consumer
    finally:
        await consumer.close()


@contextlib.asynccontextmanager
async def bridging(url: str, bus: EventBus, **options: Any) -> AsyncIterator[RedisBridge]:
    bridge = RedisBridge(url, bus, **options)
    await bridge.start()
    try:
        yield bridge
    finally:
        await bridge.stop()


async def test_matching_bus_events_arrive_as_json_on_their_kind_channel(redis_server: RedisServer) -> None:
    bus = EventBus()
    at = datetime(2026, 3, 1, 8, 30, 15, 250000, tzinfo=UTC)
    async with bridging(redis_server.url, bus) as bridge, consuming(redis_server.url) as events:
        bus.publish("camera.status_changed", "camera", "cam1", {"to": "offline"})  # not bridged
        bus.publish("analytics.counts", "channel", "ch1", {"lines": {"door": {"in": 3, "out": 1}}}, at=at)
        bus.publish("analytics.event", "channel", "ch1", {"kind": "line", "track_id": 7})
        first, second = await events.get(), await events.get()
        assert first == {
            "kind": "analytics.counts",
            "subject_type": "channel",
            "subject_id": "ch1",
            "payload": {"lines": {"door": {"in": 3, "out": 1}}},
            "at": "2026-03-01T08:30:15.250000+00:00",
        }
        assert datetime.fromisoformat(first["at"]) == at
        assert (second["kind"], second["payload"]["track_id"]) == ("analytics.event", 7)
        with pytest.raises(TimeoutError):
            await events.get(0.2)
        await wait_until(lambda: bridge.published == 2)
        assert bridge.dropped == 0 and bridge.connected


async def test_prefix_and_kinds_choose_what_goes_where(redis_server: RedisServer) -> None:
    bus = EventBus()
    url = redis_server.url
    async with (
        bridging(url, bus, kinds=["camera.*", "sync.done"], prefix="site1:"),
        consuming(url, "site1:camera.status_changed") as exact,
        consuming(url, "site1:*") as everything,
        consuming(url, "vtrack:*") as default_prefix,
    ):
        bus.publish("camera.snapshot", "camera", "cam1")
        bus.publish("analytics.counts", "channel", "ch1")  # kinds no longer include analytics
        bus.publish("sync.started", "source", "s1")
        bus.publish("camera.status_changed", "camera", "cam1", {"to": "online"})
        bus.publish("sync.done", "source", "s1")
        assert (await exact.get())["payload"] == {"to": "online"}
        assert [(await everything.get())["kind"] for _ in range(3)] == [
            "camera.snapshot",
            "camera.status_changed",
            "sync.done",
        ]
        with pytest.raises(TimeoutError):
            await everything.get(0.2)
        assert exact.received.empty() and default_prefix.received.empty()


async def test_analytics_values_are_serialised_and_a_bad_payload_costs_only_itself(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    bus = EventBus()
    caplog.set_level(logging.WARNING, logger=LOGGER)
    async with bridging(redis_server.url, bus) as bridge, consuming(redis_server.url) as events:
        bus.publish(
            "analytics.event",
            "channel",
            "ch1",
            {
                "dwell_seconds": np.float32(2.5),
                "track_id": np.int64(12),
                "point": (640.0, 360.0),
                "box": np.array([1, 2, 3, 4], dtype=np.int32),
                "entered_at": datetime(2026, 3, 1, tzinfo=UTC),
                "labels": {"b", "a"},
            },
        )
        bus.publish("analytics.event", "channel", "ch1", {"oops": object()})
        bus.publish("analytics.event", "channel", "ch1", {"after": True})
        assert (await events.get())["payload"] == {
            "dwell_seconds": 2.5,
            "track_id": 12,
            "point": [640.0, 360.0],
            "box": [1, 2, 3, 4],
            "entered_at": "2026-03-01T00:00:00+00:00",
            "labels": ["a", "b"],
        }
        assert (await events.get())["payload"] == {"after": True}
        await wait_until(lambda: bridge.published == 2)
        assert bridge.dropped == 1
    assert any("not JSON" in r.getMessage() for r in caplog.records)


async def test_a_burst_beyond_the_queue_keeps_the_newest_and_counts_the_rest(
    redis_server: RedisServer,
) -> None:
    bus = EventBus()
    async with bridging(redis_server.url, bus, queue_size=5) as bridge, consuming(redis_server.url) as events:
        for n in range(50):  # all at once: the bridge's task gets no turn in between
            bus.publish("analytics.counts", "channel", "ch1", {"n": n})
        assert [(await events.get())["payload"]["n"] for _ in range(5)] == [45, 46, 47, 48, 49]
        await wait_until(lambda: bridge.published == 5)
        assert bridge.dropped == 45


async def test_the_bridge_rides_out_a_redis_restart_without_blocking_publishers(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    bus = EventBus()
    loop = asyncio.get_running_loop()
    url = redis_server.url
    async with bridging(url, bus, **FAST) as bridge, consuming(url, **FAST) as events:
        bus.publish("analytics.counts", "channel", "ch1", {"n": 0})
        assert (await events.get())["payload"] == {"n": 0}

        redis_server.stop()
        worst_lag = 0.0
        for n in range(1, 41):  # ~0.4 s of traffic: several reconnect attempts fail meanwhile
            started = loop.time()
            bus.publish("analytics.counts", "channel", "ch1", {"n": n})
            await asyncio.sleep(0.01)
            worst_lag = max(worst_lag, loop.time() - started - 0.01)
        assert worst_lag < 0.2, f"the event loop stalled {worst_lag:.3f} s during the outage"
        await wait_until(lambda: bridge.dropped >= 40)
        assert not bridge.connected and bridge.outages == 1
        assert bridge.stats()["pending"] == 0  # dropped, not piled up
        outage_logs = [r for r in caplog.records if "dropping events" in r.getMessage()]
        assert len(outage_logs) == 1 and outage_logs[0].levelno == logging.WARNING

        redis_server.start()
        await wait_for_patterns(url)  # the consumer resubscribed by itself
        received: dict[str, Any] | None = None
        n = 100
        async with asyncio.timeout(5):
            while received is None:  # the bridge may still be in its backoff for the first few
                n += 1
                bus.publish("analytics.counts", "channel", "ch1", {"n": n})
                with contextlib.suppress(TimeoutError):
                    received = await events.get(0.05)
        assert received["payload"]["n"] > 100  # nothing from the outage turns up late
        await wait_until(lambda: bridge.connected)
        assert bridge.outages == 1
        assert bridge.published >= 2 and bridge.dropped >= 40
        assert any("reachable again" in r.getMessage() for r in caplog.records)


async def test_starting_without_redis_does_not_fail_and_stop_is_prompt(redis_server: RedisServer) -> None:
    redis_server.stop()
    bus = EventBus()
    bridge = RedisBridge(redis_server.url, bus, **FAST)
    await bridge.start()
    for n in range(10):
        bus.publish("analytics.counts", "channel", "ch1", {"n": n})
    await wait_until(lambda: bridge.dropped == 10)
    assert bridge.outages == 1 and not bridge.connected
    async with asyncio.timeout(1.5):
        await bridge.stop()
    assert bus.subscriber_count == 0 and not bridge.running


async def test_stop_sends_what_is_queued_then_unsubscribes(redis_server: RedisServer) -> None:
    bus = EventBus()
    async with consuming(redis_server.url) as events:
        bridge = RedisBridge(redis_server.url, bus)
        await bridge.start()
        await bridge.start()  # idempotent
        assert bus.subscriber_count == 1
        for n in range(20):
            bus.publish("analytics.counts", "channel", "ch1", {"n": n})
        await bridge.stop()
        assert bus.subscriber_count == 0 and not bridge.running
        assert [(await events.get())["payload"]["n"] for _ in range(20)] == list(range(20))
        bus.publish("analytics.counts", "channel", "ch1", {"n": 99})
        with pytest.raises(TimeoutError):
            await events.get(0.2)
        await bridge.stop()  # idempotent


async def test_redis_events_skips_what_is_not_a_vtrack_event(redis_server: RedisServer) -> None:
    client = Redis.from_url(redis_server.url)
    try:
        async with consuming(redis_server.url) as events:
            await client.publish("vtrack:analytics.counts", "not json")
            await client.publish("vtrack:analytics.counts", json.dumps({"no": "kind"}))
            await client.publish("vtrack:analytics.counts", json.dumps([1, 2]))
            await client.publish("vtrack:analytics.counts", json.dumps({"kind": "analytics.counts", "x": 1}))
            assert await events.get() == {"kind": "analytics.counts", "x": 1}
    finally:
        await client.aclose()


async def test_redis_events_without_reconnect_ends_with_the_connection_error(
    redis_server: RedisServer,
) -> None:
    async with consuming(redis_server.url, reconnect=False) as events:
        redis_server.stop()
        await wait_until(lambda: events.done)
        assert isinstance(events.error, RedisConnectionError)


def test_logged_urls_hide_the_password() -> None:
    assert safe_url("redis://user:s3cret@redis.local:6380/2") == "redis://user:***@redis.local:6380/2"
    assert safe_url("redis://:s3cret@10.0.0.5/0") == "redis://:***@10.0.0.5/0"
    assert safe_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"

"""Other nodes' events into the server's bus through real Redis, and never back out (step 8)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from redis.asyncio import Redis

from tests.events.test_redis_bridge import wait_until
from tests.peers.redis_server import RedisServer, running_redis
from vtrack.events.bus import EventBus
from vtrack.events.redis_bridge import RedisBridge
from vtrack.events.relay import CLUSTER_KINDS, RedisRelay, node_bridge
from vtrack.settings import Settings


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with running_redis() as server:
        yield server


async def pattern_subscribers(url: str, count: int) -> None:
    """Both relays subscribe the same pattern, which NUMPAT counts once: count the clients instead."""
    client = Redis.from_url(url)
    try:
        for _ in range(500):
            if sum(int(c.get("psub", 0)) > 0 for c in await client.client_list()) >= count:
                return
            await asyncio.sleep(0.01)
    finally:
        await client.aclose()
    raise TimeoutError(f"fewer than {count} pattern subscribers on {url}")


class Node:
    """One process's bus with its bridge out and (for a server) its relay in."""

    def __init__(self, url: str, name: str, relay: bool) -> None:
        self.bus = EventBus()
        self.bridge = RedisBridge(url, self.bus, kinds=CLUSTER_KINDS, origin=name)
        self.relay = RedisRelay(url, self.bus, name) if relay else None
        self.seen = self.bus.subscribe(["camera.*", "analytics.*"])

    async def start(self) -> None:
        await self.bridge.start()
        if self.relay is not None:
            await self.relay.start()

    async def stop(self) -> None:
        if self.relay is not None:
            await self.relay.stop()
        await self.bridge.stop()


@pytest.fixture
async def nodes(redis_server: RedisServer) -> AsyncIterator[tuple[Node, Node, Node]]:
    worker = Node(redis_server.url, "worker-1", relay=False)
    server_a = Node(redis_server.url, "server-a", relay=True)
    server_b = Node(redis_server.url, "server-b", relay=True)
    for node in (worker, server_a, server_b):
        await node.start()
    await pattern_subscribers(redis_server.url, 2)
    yield worker, server_a, server_b
    for node in (worker, server_a, server_b):
        await node.stop()


async def test_a_worker_s_event_reaches_every_server_once_marked_with_its_origin(
    nodes: tuple[Node, Node, Node],
) -> None:
    worker, server_a, server_b = nodes
    worker.bus.publish("camera.status_changed", "camera", "cam-1", {"status": "offline"})
    for server in (server_a, server_b):
        event = await server.seen.get(within=5)
        assert (event.kind, event.subject_id, event.payload) == (
            "camera.status_changed",
            "cam-1",
            {"status": "offline"},
        )
        assert event.origin == "worker-1"
    await asyncio.sleep(0.5)  # time for an echo, if there were one
    for server in (server_a, server_b):
        assert server.seen.pending() == 0 and server.bridge.published == 0  # relayed, not sent back out
    assert worker.seen.pending() == 1 and worker.bridge.published == 1  # its own, once


async def test_a_server_does_not_relay_its_own_events_back_to_itself(nodes: tuple[Node, Node, Node]) -> None:
    _worker, server_a, server_b = nodes
    server_a.bus.publish("analytics.counts", "analytics_channel", "ch-1", {"in": 3})
    assert (await server_a.seen.get(within=5)).origin is None  # the local publish
    relayed = await server_b.seen.get(within=5)
    assert relayed.origin == "server-a" and relayed.payload == {"in": 3}
    await wait_until(
        lambda: server_a.relay is not None and server_b.relay is not None and server_b.relay.relayed == 1
    )
    await asyncio.sleep(0.5)
    assert server_a.seen.pending() == 0 and server_a.relay is not None and server_a.relay.relayed == 0


def test_a_node_without_redis_has_no_bridge(tmp_path: object) -> None:
    assert node_bridge(Settings(redis_url=None), EventBus()) is None
    bridge = node_bridge(Settings(redis_url="redis://127.0.0.1:1/0", node_name="w"), EventBus())
    assert bridge is not None and bridge.origin == "w" and bridge.kinds == CLUSTER_KINDS

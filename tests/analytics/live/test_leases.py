"""Live channels shared by several nodes through leases in one real PostgreSQL (step 8 scale-out).

Every node is a real ChannelManager with its own Database engine (its own connections, as a separate
process would have), its own node name and a 3 s lease (a heartbeat every second), running the motion
detector on the simulator's cameras. A `Watch` samples all nodes every 0.2 s while a test runs: no
channel may be analysed on two nodes at once (a thread of its worker alive on both), nor have two
"running" live runs in the database. A node's database can be taken away on its own through a relay
(db_proxy.py): refused (the server is down) or blackholed (a partition: statements hang).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.engine import make_url

from tests.analytics.live.conftest import wait_for
from tests.analytics.live.db_proxy import DatabaseRelay
from tests.analytics.live.test_manager import add_channel, live_settings, runs
from vtrack.analytics.live.manager import ChannelManager
from vtrack.analytics.live.worker import ChannelWorker
from vtrack.db.models import AnalyticsChannel, AnalyticsLease, AnalyticsNode, AnalyticsRun
from vtrack.db.session import Database
from vtrack.db.types import utcnow
from vtrack.events.bus import EventBus
from vtrack.security.encryption import Keyring
from vtrack.settings import Settings
from vtrack.simulator.runner import Simulator

LEASE = 3.0  # the smallest the settings allow
BEAT = LEASE / 3
TAKEOVER_LIMIT = 30.0
log = logging.getLogger(__name__)  # timings: run with `-o log_cli=true --log-cli-level=INFO` to see them


@pytest.fixture
def backend() -> str:
    """Leases are about several processes on one database: PostgreSQL here (one SQLite test below)."""
    return "postgres"


@dataclass
class Node:
    name: str
    database: Database
    manager: ChannelManager
    relay: DatabaseRelay | None = None
    started: list[ChannelWorker] = field(default_factory=list)  # every worker it ever started
    crashed: bool = False

    def running(self) -> set[str]:
        """Channels with a thread still at work here (a worker stopping still counts until it has)."""
        return {
            w.channel_id
            for w in self.started
            if w.channel_id is not None and (w._thread.is_alive() or w.reader._thread.is_alive())
        }

    def held(self) -> set[str]:
        return set(self.manager.workers)


class Cluster:
    def __init__(self, settings: Settings, keyring: Keyring, database: Database) -> None:
        self.settings = settings
        self.keyring = keyring
        self.database = database  # the tests' own connection
        self.nodes: list[Node] = []

    async def node(self, name: str, *, relayed: bool = False, **extra: Any) -> Node:
        url = self.settings.resolved_database_url
        relay = None
        if relayed:
            parsed = make_url(url)
            relay = DatabaseRelay(parsed.host or "127.0.0.1", parsed.port or 5432)
            url = parsed.set(port=await relay.start()).render_as_string(hide_password=False)
        settings = live_settings(self.settings, node_name=name, analytics_lease_seconds=LEASE, **extra)
        database = Database(url)
        manager = ChannelManager(database, self.keyring, settings, EventBus())
        node = Node(name, database, manager, relay)
        start_channel = manager._start_channel

        async def tracked(channel_id: str) -> None:
            await start_channel(channel_id)
            worker = manager.workers.get(channel_id)
            if worker is not None and worker not in node.started:
                node.started.append(worker)

        manager._start_channel = tracked  # type: ignore[method-assign]
        self.nodes.append(node)
        return node

    async def crash(self, node: Node) -> None:
        """The process dies: heartbeats stop, threads stop, connections drop; nothing is written."""
        manager = node.manager
        manager._started = False
        if manager._keeper is not None:
            manager._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await manager._keeper
        for worker in manager.workers.values():
            worker._stop.set()
            await asyncio.to_thread(worker.reader.stop)
            await asyncio.to_thread(worker._thread.join)
            assert worker.writer is not None and worker.writer._task is not None
            worker.writer._closing = True
            worker.writer._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker.writer._task
        manager.workers.clear()
        await node.database.dispose()
        node.crashed = True

    async def close(self) -> None:
        for node in self.nodes:
            if node.relay is not None:
                await node.relay.restore()
        for node in self.nodes:
            if not node.crashed:
                await asyncio.wait_for(node.manager.stop(), 30)
        for node in self.nodes:
            await node.database.dispose()
            if node.relay is not None:
                await node.relay.stop()


@pytest.fixture
async def cluster(settings: Settings, keyring: Keyring, database: Database) -> AsyncIterator[Cluster]:
    nodes = Cluster(settings, keyring, database)
    yield nodes
    await nodes.close()


class Watch:
    """Samples every 0.2 s: a channel analysed on two nodes, or with two running runs, is a violation."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.samples = 0
        self.violations: list[str] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Watch:
        self._task = asyncio.create_task(self._loop())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self.sample()
        assert not self.violations, self.violations[:5]

    async def _loop(self) -> None:
        while True:
            await self.sample()
            await asyncio.sleep(0.2)

    async def sample(self) -> None:
        self.samples += 1
        owners: dict[str, list[str]] = {}
        for node in self.cluster.nodes:
            for channel_id in node.running():
                owners.setdefault(channel_id, []).append(node.name)
        for channel_id, names in owners.items():
            if len(names) > 1:
                self.violations.append(f"channel {channel_id} analysed on {names}")
        async with self.cluster.database.session() as session:
            doubled = (
                await session.execute(
                    select(AnalyticsRun.channel_id, func.count())
                    .where(AnalyticsRun.kind == "live", AnalyticsRun.status == "running")
                    .group_by(AnalyticsRun.channel_id)
                    .having(func.count() > 1)
                )
            ).all()
        for channel_id, count in doubled:
            self.violations.append(f"channel {channel_id} has {count} running runs")


async def leases(database: Database) -> dict[str, AnalyticsLease]:
    async with database.session() as session:
        return {row.channel_id: row for row in await session.scalars(select(AnalyticsLease))}


async def owners(database: Database) -> dict[str, str]:
    """Channel -> node, of the leases that have not lapsed."""
    now = utcnow()
    return {cid: row.node for cid, row in (await leases(database)).items() if row.expires_at > now}


async def channels(database: Database, keyring: Keyring, simulator: Simulator, count: int) -> list[str]:
    cams = simulator.cameras()
    return [
        await add_channel(database, keyring, f"ch {i}", cams[i % len(cams)].rtsp_url) for i in range(count)
    ]


async def split(cluster: Cluster, *nodes: Node) -> None:
    """Start the nodes one after the other and wait for an even split."""
    for node in nodes:
        await node.manager.start()
    total = len(await cluster_channels(cluster.database))
    share = -(-total // len(nodes))
    await wait_for(
        lambda: sum(len(n.held()) for n in nodes) == total and all(len(n.held()) <= share for n in nodes),
        6 * BEAT,
        "an even split",
    )


async def cluster_channels(database: Database) -> list[str]:
    async with database.session() as session:
        return list(await session.scalars(select(AnalyticsChannel.id).where(AnalyticsChannel.enabled)))


async def run_of(database: Database, run_id: str | None) -> AnalyticsRun:
    async with database.session() as session:
        run = await session.get(AnalyticsRun, run_id)
    assert run is not None
    return run


# --------------------------------------------------------------------------------------------------


@pytest.mark.postgres
async def test_a_lone_node_takes_every_enabled_channel(
    simulator: Simulator, database: Database, keyring: Keyring, cluster: Cluster
) -> None:
    enabled = await channels(database, keyring, simulator, 3)
    off = await add_channel(database, keyring, "off", simulator.cameras()[0].rtsp_url, enabled=False)
    a = await cluster.node("node-a")
    before = utcnow()
    await a.manager.start()
    assert a.held() == set(enabled)  # start() reconciles at once, it does not wait for a heartbeat

    first = await leases(database)
    assert set(first) == set(enabled) and off not in first
    for row in first.values():
        assert row.node == "node-a"
        assert before + timedelta(seconds=LEASE) <= row.expires_at <= utcnow() + timedelta(seconds=LEASE)
    async with database.session() as session:
        (node,) = (await session.scalars(select(AnalyticsNode))).all()
    assert node.name == "node-a" and node.capacity == 0
    found = await runs(database)
    assert set(found) == set(enabled)
    for channel_id in enabled:
        (run,) = found[channel_id]
        assert run.status == "running" and run.node == "node-a" and run.kind == "live"

    await wait_for(lambda: all(a.manager.health()[c]["frames_processed"] >= 3 for c in enabled), 10, "frames")
    await asyncio.sleep(1.5 * BEAT)  # heartbeats push the leases ahead and change nothing else
    renewed = await leases(database)
    assert all(renewed[c].expires_at > first[c].expires_at for c in enabled)
    assert all(renewed[c].acquired_at == first[c].acquired_at for c in enabled)
    assert a.held() == set(enabled) and len((await runs(database))[enabled[0]]) == 1


@pytest.mark.postgres
async def test_a_second_node_gets_its_fair_share_handed_over_without_overlap(
    simulator: Simulator, database: Database, keyring: Keyring, cluster: Cluster
) -> None:
    both = await channels(database, keyring, simulator, 2)
    a = await cluster.node("node-a")
    b = await cluster.node("node-b")
    await a.manager.start()
    assert a.held() == set(both)
    async with Watch(cluster) as watch:
        await b.manager.start()
        assert b.held() == set()  # nothing is free: b waits for a to hand one over
        took = await wait_for(lambda: len(a.held()) == 1 and len(b.held()) == 1, 4 * BEAT, "the handover")
        await asyncio.sleep(3 * BEAT)  # and it stays that way
        assert len(a.held()) == 1 and len(b.held()) == 1 and a.held() != b.held()
    assert watch.samples >= 10, watch.samples
    log.info("handover took %.2f s (%d samples, no overlap)", took, watch.samples)

    (moved,) = b.held()
    assert await owners(database) == {next(iter(a.held())): "node-a", moved: "node-b"}
    old, new = (await runs(database))[moved]
    assert old.node == "node-a" and old.status == "finished" and old.ended_at is not None
    assert new.node == "node-b" and new.status == "running" and new.started_at >= old.ended_at
    await wait_for(lambda: b.manager.health()[moved]["frames_processed"] >= 3, 10, "b analysing")


@pytest.mark.postgres
async def test_a_dead_nodes_channels_move_within_the_lease(
    simulator: Simulator, database: Database, keyring: Keyring, cluster: Cluster
) -> None:
    both = await channels(database, keyring, simulator, 2)
    a = await cluster.node("node-a")
    b = await cluster.node("node-b")
    await split(cluster, a, b)
    (orphan,) = a.held()
    orphan_run = a.manager.health()[orphan]["run_id"]
    async with Watch(cluster) as watch:
        await cluster.crash(a)  # no leave(): its lease and node row stay until they lapse
        died = time.monotonic()
        took = await wait_for(lambda: b.held() == set(both), TAKEOVER_LIMIT, "the takeover", step=0.05)
    log.info("takeover took %.2f s after the crash (lease %s s, heartbeat %s s)", took, LEASE, BEAT)
    assert took < TAKEOVER_LIMIT
    assert took >= LEASE - BEAT - 0.5  # not before a's lease could have lapsed
    assert watch.samples >= 10 and time.monotonic() - died < TAKEOVER_LIMIT

    assert await owners(database) == {c: "node-b" for c in both}
    interrupted = await run_of(database, orphan_run)
    assert interrupted.status == "interrupted" and interrupted.node == "node-a"
    assert interrupted.ended_at is not None and "moved" in (interrupted.error or "")
    new = await run_of(database, b.manager.health()[orphan]["run_id"])
    assert new.node == "node-b" and new.status == "running"
    await wait_for(lambda: b.manager.health()[orphan]["frames_processed"] >= 3, 10, "b analysing it")


@pytest.mark.postgres
async def test_a_node_that_cannot_heartbeat_stops_its_channels_before_its_lease_lapses(
    simulator: Simulator,
    database: Database,
    keyring: Keyring,
    cluster: Cluster,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (channel,) = await channels(database, keyring, simulator, 1)
    a = await cluster.node("node-a")
    b = await cluster.node("node-b")
    await split(cluster, a, b)
    assert a.held() == {channel} and b.held() == set()  # one channel: a share of one each, a has it

    async def unreachable(*args: Any) -> None:
        raise OSError("connection refused")

    async with Watch(cluster):
        monkeypatch.setattr(a.manager.leases, "heartbeat", unreachable)
        await wait_for(lambda: not a.running(), 4 * BEAT, "a to fence itself")
        fenced = utcnow()
        (lease,) = (await leases(database)).values()  # its last renewal: nothing renews it any more
        assert lease.node == "node-a"
        log.info("fenced %.2f s before the lease lapsed", (lease.expires_at - fenced).total_seconds())
        assert fenced < lease.expires_at
        took = await wait_for(lambda: b.held() == {channel}, LEASE + 2 * BEAT, "b to take over")
        assert utcnow() >= lease.expires_at
    assert took < LEASE + 2 * BEAT

    first, second = (await runs(database))[channel]
    assert first.node == "node-a" and first.status != "running" and first.ended_at is not None
    assert second.node == "node-b" and second.status == "running"
    monkeypatch.undo()  # a's database is back: it rejoins and takes nothing from b (its share is one)
    await asyncio.sleep(3 * BEAT)
    assert a.held() == set() and b.held() == {channel}
    assert await owners(database) == {channel: "node-b"}


@pytest.mark.postgres
async def test_a_fenced_node_whose_database_comes_back_in_time_runs_its_channels_again(
    simulator: Simulator,
    database: Database,
    keyring: Keyring,
    cluster: Cluster,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The outage ends after the node fenced itself but before its leases lapsed: they are its own."""
    (channel,) = await channels(database, keyring, simulator, 1)
    a = await cluster.node("node-a")
    await a.manager.start()
    renew = a.manager.leases.heartbeat

    async def unreachable(*args: Any) -> None:
        raise OSError("connection refused")

    monkeypatch.setattr(a.manager.leases, "heartbeat", unreachable)
    await wait_for(lambda: not a.running(), 4 * BEAT, "a to fence itself")
    monkeypatch.setattr(a.manager.leases, "heartbeat", renew)
    assert (await leases(database))[channel].expires_at > utcnow()
    await a.manager.reconcile()  # the database answers again before the lease lapsed: a renews it
    await wait_for(lambda: a.held() == {channel}, 3 * BEAT, "the channel to run again")
    assert await owners(database) == {channel: "node-a"}


@pytest.mark.postgres
async def test_a_node_that_loses_its_database_fences_every_channel_and_rejoins(
    simulator: Simulator, database: Database, keyring: Keyring, cluster: Cluster
) -> None:
    three = await channels(database, keyring, simulator, 3)
    a = await cluster.node("node-a", relayed=True)
    b = await cluster.node("node-b")
    await split(cluster, a, b)
    assert len(a.held()) == 2 and len(b.held()) == 1
    assert a.relay is not None
    async with Watch(cluster):
        await a.relay.refuse()  # the server is away for a: its connects are refused
        cut = time.monotonic()
        await wait_for(lambda: not a.running(), 4 * BEAT, "a to stop both its channels")
        log.info("refused: a stopped its channels %.2f s after the cut", time.monotonic() - cut)
        await wait_for(lambda: b.held() == set(three), LEASE + 3 * BEAT, "b to take them all")
        await a.relay.restore()
        await wait_for(lambda: len(a.held()) == 1 and len(b.held()) == 2, 6 * BEAT, "a to rejoin")
    assert a.manager._keeper is not None and not a.manager._keeper.done()


@pytest.mark.postgres
async def test_a_node_cut_off_by_a_partition_fences_before_its_lease_lapses(
    simulator: Simulator, database: Database, keyring: Keyring, cluster: Cluster
) -> None:
    both = await channels(database, keyring, simulator, 2)
    a = await cluster.node("node-a", relayed=True)
    await a.manager.start()
    b = await cluster.node("node-b")
    assert a.relay is not None and a.held() == set(both)
    async with Watch(cluster):
        a.relay.blackhole()  # statements hang instead of failing
        cut = time.monotonic()
        await b.manager.start()
        await wait_for(lambda: not a.running(), LEASE, "a to stop its channels")
        log.info("partition: a stopped its channels %.2f s after the cut", time.monotonic() - cut)
        await wait_for(lambda: b.held() == set(both), LEASE + 3 * BEAT, "b to take them")
        await a.relay.restore()
        await wait_for(lambda: len(a.held()) == 1 and len(b.held()) == 1, 8 * BEAT, "a to rejoin")


@pytest.mark.postgres
async def test_apply_disable_and_edit_follow_the_lease_holder(
    simulator: Simulator, database: Database, keyring: Keyring, cluster: Cluster
) -> None:
    await channels(database, keyring, simulator, 2)
    a = await cluster.node("node-a")
    b = await cluster.node("node-b")
    async with Watch(cluster):
        await split(cluster, a, b)
        (on_a,) = a.held()
        (on_b,) = b.held()
        a_run = a.manager.health()[on_a]["run_id"]

        await b.manager.apply(on_a)  # the API's node may not hold the channel: it does not start it
        assert b.held() == {on_b} and a.held() == {on_a}
        assert a.manager.health()[on_a]["run_id"] == a_run and len((await runs(database))[on_a]) == 1
        assert (await owners(database))[on_a] == "node-a"

        b_run = b.manager.health()[on_b]["run_id"]
        await b.manager.apply(on_b)  # on the holder, apply restarts the channel now
        assert b.held() == {on_b} and b.manager.health()[on_b]["run_id"] != b_run
        assert (await run_of(database, b_run)).status == "finished"

        async with database.transaction() as session:
            await session.execute(
                update(AnalyticsChannel).where(AnalyticsChannel.id == on_a).values(enabled=False)
            )
        await a.manager.apply(on_a)  # disabled: stopped and its lease freed at once
        assert a.held() == set() and on_a not in await leases(database)
        assert (await run_of(database, a_run)).status == "finished"
        await asyncio.sleep(2 * BEAT)  # nobody takes a disabled channel
        assert on_a not in (a.running() | b.running()) and on_a not in await leases(database)

        lines = [{"name": "door", "points": [[0, 0.5], [1, 0.5]]}]
        b_run = b.manager.health()[on_b]["run_id"]
        async with database.transaction() as session:
            await session.execute(
                update(AnalyticsChannel).where(AnalyticsChannel.id == on_b).values(lines=lines)
            )
        await a.manager.apply(on_b)  # applied on the other node: b sees the change at its heartbeat
        assert a.held() == set()
        await wait_for(
            lambda: b.manager.health().get(on_b, {}).get("run_id") not in (None, b_run),
            2 * BEAT + 1,
            "b to restart the edited channel",
        )
        restarted = await run_of(database, b.manager.health()[on_b]["run_id"])
        assert restarted.node == "node-b" and restarted.config["lines"][0]["name"] == "door"
        assert (await run_of(database, b_run)).status == "finished"
        await asyncio.sleep(2 * BEAT)  # one restart per change, not one per heartbeat
        assert b.manager.health()[on_b]["run_id"] == restarted.id


@pytest.mark.postgres
async def test_max_channels_caps_a_node(
    simulator: Simulator, database: Database, keyring: Keyring, cluster: Cluster
) -> None:
    three = await channels(database, keyring, simulator, 3)
    a = await cluster.node("node-a", analytics_max_channels=1)
    await a.manager.start()
    assert len(a.held()) == 1
    async with database.session() as session:
        node = await session.get(AnalyticsNode, "node-a")
    assert node is not None and node.capacity == 1
    await asyncio.sleep(1.5 * BEAT)
    assert len(a.held()) == 1 and len(await leases(database)) == 1  # the others wait for room

    b = await cluster.node("node-b")
    await b.manager.start()
    assert len(b.held()) == 2 and a.held() | b.held() == set(three)

    fourth = await add_channel(database, keyring, "ch 3", simulator.cameras()[0].rtsp_url)
    # b has no limit: the channel a cannot take is b's to run, not nobody's
    await wait_for(lambda: b.held() == set(three + [fourth]) - a.held(), 3 * BEAT, "all four running")
    assert len(a.held()) == 1


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_clean_stop_leaves_no_lease_and_no_node_on_sqlite(
    simulator: Simulator, database: Database, settings: Settings, keyring: Keyring
) -> None:
    assert database.is_sqlite
    (channel,) = await channels(database, keyring, simulator, 1)
    node_settings = live_settings(settings, node_name="solo", analytics_lease_seconds=LEASE)
    manager = ChannelManager(database, keyring, node_settings, EventBus())
    await manager.start()
    try:
        assert set(manager.workers) == {channel}
        assert {c: row.node for c, row in (await leases(database)).items()} == {channel: "solo"}
        await asyncio.sleep(1.5 * BEAT)
        assert set(manager.workers) == {channel}
    finally:
        await manager.stop()
    assert await leases(database) == {}
    async with database.session() as session:
        assert (await session.scalars(select(AnalyticsNode))).all() == []
    (run,) = (await runs(database))[channel]
    assert run.status == "interrupted" and run.node == "solo"

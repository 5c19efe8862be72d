"""ChannelManager from analytics_channels rows to running workers, their health, and their runs' endings.

Channels point at the simulator (by URL with sealed credentials, or through a registered camera row)
or at a refused loopback port. The motion detector needs no model; the last test runs the real clip
through YOLOX-Nano when ../shared has them.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from tests.analytics.live.conftest import wait_for
from tests.peers.ports import free_port
from tests.shared_data import PEOPLE_VIDEO, YOLOX_NANO
from vtrack.analytics.live.manager import ChannelManager, default_options
from vtrack.db.models import (
    AnalyticsChannel,
    AnalyticsCount,
    AnalyticsEvent,
    AnalyticsRun,
    AnalyticsTrack,
    Camera,
)
from vtrack.db.session import Database
from vtrack.events.bus import EventBus
from vtrack.registry.analytics_channels import CHANNEL_PASSWORD
from vtrack.registry.cameras import PASSWORD_PURPOSE
from vtrack.security.encryption import Keyring
from vtrack.settings import Settings
from vtrack.simulator.config import DEFAULT_PASSWORD, DEFAULT_USERNAME, CameraSpec, SimulatorConfig
from vtrack.simulator.runner import Simulator

HEALTH_KEYS = {
    "name", "run_id", "state", "fps_in", "fps_out", "dropped", "latency_p50_ms", "latency_p95_ms",
    "event_latency_p95_ms", "reconnects", "error", "frames_in", "frames_processed",
}  # fmt: skip


def live_settings(settings: Settings, **extra: Any) -> Settings:
    return settings.model_copy(
        update={
            "analytics_detector": "motion",
            "analytics_reconnect_seconds": 0.2,
            "analytics_reconnect_max_seconds": 1.0,
            "analytics_flush_seconds": 0.05,
            **extra,
        }
    )


@pytest.fixture
async def manager(database: Database, settings: Settings, keyring: Keyring) -> AsyncIterator[ChannelManager]:
    channels = ChannelManager(database, keyring, live_settings(settings), EventBus())
    yield channels
    await channels.stop()


async def add_channel(
    database: Database, keyring: Keyring, name: str, url: str | None = None, **fields: Any
) -> str:
    password = fields.pop("password", DEFAULT_PASSWORD)
    row = AnalyticsChannel(
        name=name,
        url=url,
        username=fields.pop("username", DEFAULT_USERNAME if url else None),
        password_encrypted=keyring.encrypt(password, CHANNEL_PASSWORD) if url and password else None,
        **fields,
    )
    async with database.transaction() as session:
        session.add(row)
    return row.id


async def add_camera(database: Database, keyring: Keyring, url: str) -> str:
    camera = Camera(
        name="registered",
        rtsp_url=url,
        username=DEFAULT_USERNAME,
        password_encrypted=keyring.encrypt(DEFAULT_PASSWORD, PASSWORD_PURPOSE),
    )
    async with database.transaction() as session:
        session.add(camera)
    return camera.id


async def runs(database: Database) -> dict[str | None, list[AnalyticsRun]]:
    """Runs by channel id, oldest first."""
    async with database.session() as session:
        rows = (await session.scalars(select(AnalyticsRun).order_by(AnalyticsRun.started_at))).all()
    found: dict[str | None, list[AnalyticsRun]] = {}
    for row in rows:
        found.setdefault(row.channel_id, []).append(row)
    return found


def processed(manager: ChannelManager, channel_id: str) -> int:
    worker = manager.worker(channel_id)
    return worker.stats.frames_processed if worker is not None else -1


async def test_channels_run_from_url_and_camera_rows_beside_an_unreachable_one(
    simulator: Simulator, database: Database, keyring: Keyring, manager: ChannelManager
) -> None:
    cams = simulator.cameras()
    door = await add_channel(database, keyring, "door", cams[0].rtsp_url)
    camera_id = await add_camera(database, keyring, cams[1].rtsp_url)
    lot = await add_channel(database, keyring, "lot", camera_id=camera_id)
    dead_url = f"rtsp://127.0.0.1:{free_port()}/live/1"
    dead = await add_channel(database, keyring, "dead", dead_url)
    off = await add_channel(database, keyring, "off", cams[2].rtsp_url, enabled=False)
    counts = manager.bus.subscribe(["analytics.counts"])

    await manager.apply(door)  # before start(): nothing happens
    assert manager.health() == {}
    await manager.start()
    assert set(manager.health()) == {door, lot, dead}
    await wait_for(lambda: min(processed(manager, door), processed(manager, lot)) >= 10, 10, "both analysing")
    await wait_for(lambda: manager.health()[dead]["reconnects"] >= 3, 5, "retries on the dead port")
    before = {cid: processed(manager, cid) for cid in (door, lot)}
    await asyncio.sleep(1.0)  # the good ones keep going while the bad one keeps retrying
    assert all(processed(manager, cid) >= before[cid] + 5 for cid in (door, lot))

    health = manager.health()
    assert off not in health
    for channel_id, name in ((door, "door"), (lot, "lot"), (dead, "dead")):
        assert HEALTH_KEYS <= set(health[channel_id]) and health[channel_id]["name"] == name
    for good in (door, lot):
        assert health[good]["state"] == "running" and health[good]["error"] is None
        assert health[good]["fps_out"] > 0 and health[good]["latency_p50_ms"] is not None
    assert health[dead]["state"] == "reconnecting" and health[dead]["fps_out"] == 0
    assert health[dead]["frames_in"] == 0 and "connection refused" in health[dead]["error"]
    assert DEFAULT_PASSWORD not in str(health)
    event = await counts.get(within=3)
    assert event.subject_id in (door, lot) and "lines" in event.payload
    counts.close()

    rows = await runs(database)
    assert set(rows) == {door, lot, dead}
    for channel_id in (door, lot, dead):
        (run,) = rows[channel_id]
        assert run.status == "running" and run.kind == "live" and run.id == health[channel_id]["run_id"]
    assert rows[lot][0].source == cams[1].rtsp_url and rows[dead][0].source == dead_url

    started = time.monotonic()
    await manager.stop()
    assert time.monotonic() - started < 3.0
    assert manager.health() == {}
    stopped = await runs(database)
    for owner, (run,) in stopped.items():
        assert run.status == "interrupted" and run.ended_at is not None, owner
    assert stopped[door][0].summary["frames_processed"] >= 15 and stopped[dead][0].summary["frames_in"] == 0
    await manager.apply(door)  # after stop(): nothing starts again
    assert manager.health() == {}


async def test_apply_follows_the_row_disable_edit_delete(
    simulator: Simulator, database: Database, keyring: Keyring, manager: ChannelManager
) -> None:
    cams = simulator.cameras()
    first = await add_channel(database, keyring, "first", cams[0].rtsp_url)
    second = await add_channel(database, keyring, "second", cams[1].rtsp_url)
    await manager.start()
    await wait_for(lambda: min(processed(manager, first), processed(manager, second)) >= 3, 10, "analysis")

    async with database.transaction() as session:
        await session.execute(
            update(AnalyticsChannel).where(AnalyticsChannel.id == first).values(enabled=False)
        )
    await manager.apply(first)
    assert set(manager.health()) == {second}
    (closed,) = (await runs(database))[first]
    assert closed.status == "finished" and closed.ended_at is not None

    lines = [{"name": "door", "points": [[0, 0.5], [1, 0.5]]}]
    async with database.transaction() as session:
        await session.execute(
            update(AnalyticsChannel).where(AnalyticsChannel.id == first).values(enabled=True, lines=lines)
        )
    await manager.apply(first)
    await manager.apply(first)  # applying twice restarts, it does not leave a second worker behind
    first_runs = (await runs(database))[first]
    assert [r.status for r in first_runs] == ["finished", "finished", "running"]
    assert first_runs[-1].config["lines"][0]["name"] == "door"
    assert manager.health()[first]["run_id"] == first_runs[-1].id

    second_run = manager.health()[second]["run_id"]
    async with database.transaction() as session:
        await session.delete(await session.get(AnalyticsChannel, second))
    await manager.apply(second)
    assert set(manager.health()) == {first}
    async with database.session() as session:
        run = await session.get(AnalyticsRun, second_run)
    assert run is not None and run.status == "finished" and run.ended_at is not None
    await wait_for(lambda: processed(manager, first) >= 3, 10, "the restarted channel")


async def test_channels_that_cannot_run_are_reported_failed_and_do_not_hold_up_the_rest(
    simulator: Simulator, database: Database, keyring: Keyring, manager: ChannelManager
) -> None:
    cams = simulator.cameras()
    bad_spec = await add_channel(
        database, keyring, "a bad spec", cams[0].rtsp_url, lines=[{"name": "x", "points": [[0, 0]]}]
    )
    other_key = Keyring(current=os.urandom(32)).encrypt(DEFAULT_PASSWORD, CHANNEL_PASSWORD)
    bad_key = await add_channel(database, keyring, "b sealed elsewhere", cams[0].rtsp_url)
    async with database.transaction() as session:
        await session.execute(
            update(AnalyticsChannel)
            .where(AnalyticsChannel.id == bad_key)
            .values(password_encrypted=other_key)
        )
    far = [{"name": "far", "points": [[0, 500], [1000, 500]]}]  # pixels of a bigger picture
    misfit = await add_channel(database, keyring, "c misfit", cams[1].rtsp_url, lines=far)
    good = await add_channel(database, keyring, "d good", cams[2].rtsp_url)

    await manager.start()  # the channels are started by name: the good one comes last
    health = manager.health()
    assert health[bad_spec]["state"] == "failed" and health[bad_spec]["name"] == "a bad spec"
    assert health[bad_spec]["error"].startswith("line: ") and "points" in health[bad_spec]["error"]
    assert health[bad_key]["state"] == "failed" and "decrypt" in health[bad_key]["error"]
    await wait_for(lambda: manager.health()[misfit]["state"] == "failed", 10, "the misfit to fail")
    await wait_for(lambda: processed(manager, good) >= 5, 10, "the good channel")

    misfit_health = manager.health()[misfit]
    assert "outside the 320x240 frame" in misfit_health["error"]
    await asyncio.sleep(1.0)  # failed stays failed: no restart, no new run, no retries
    again = manager.health()[misfit]
    assert again["state"] == "failed" and again["run_id"] == misfit_health["run_id"]
    assert again["frames_in"] == misfit_health["frames_in"] and again["reconnects"] == 0
    rows = await runs(database)
    assert bad_spec not in rows and bad_key not in rows and len(rows[misfit]) == 1

    await manager.stop()
    rows = await runs(database)
    assert rows[misfit][0].status == "failed" and "outside" in (rows[misfit][0].error or "")
    assert rows[good][0].status == "interrupted"


async def test_a_node_with_live_analytics_off_starts_no_channel(
    simulator: Simulator, database: Database, settings: Settings, keyring: Keyring
) -> None:
    channel = await add_channel(database, keyring, "door", simulator.cameras()[0].rtsp_url)
    manager = ChannelManager(database, keyring, live_settings(settings, analytics_live=False), EventBus())
    await manager.start()
    await manager.apply(channel)
    assert manager.health() == {} and await runs(database) == {}
    await manager.stop()


def test_default_options_pick_yolox_only_with_a_model(settings: Settings) -> None:
    assert default_options(settings).detector == "motion"
    model = Path("/models/yolox.onnx")
    with_model = default_options(settings.model_copy(update={"analytics_model": model}))
    assert with_model.detector == "yolox" and with_model.model == model
    forced = settings.model_copy(update={"analytics_model": model, "analytics_detector": "yolo"})
    assert default_options(forced).detector == "yolo"


@pytest.mark.skipif(
    not (PEOPLE_VIDEO.exists() and YOLOX_NANO.exists()), reason="shared clip/model not on this machine"
)
async def test_a_yolox_channel_on_the_real_clip_writes_crossings_and_tracks(
    database: Database, settings: Settings, keyring: Keyring
) -> None:
    camera = CameraSpec(index=0, name="people", width=1280, height=720, codec="h264")
    config = SimulatorConfig(
        cameras=[camera], host="127.0.0.1", onvif_port_base=0, rtsp_port=0, video=PEOPLE_VIDEO
    )
    simulator = Simulator(config, discovery_port=None)
    await simulator.start()
    lines = [
        {"name": name, "points": [[0, y], [1, y]]}
        for name, y in (("upper", 0.45), ("middle", 0.6), ("lower", 0.75))
    ]
    channel = await add_channel(database, keyring, "walkway", simulator.cameras()[0].rtsp_url, lines=lines)
    manager = ChannelManager(
        database,
        keyring,
        live_settings(settings, analytics_detector=None, analytics_model=YOLOX_NANO, analytics_frame_rate=25),
        EventBus(),
    )
    try:
        await manager.start()
        await wait_for(lambda: processed(manager, channel) > 0, 15, "the first analysed frame")
        # The clip's first crossings come about 2 s in, then every second or so.
        await wait_for(lambda: (manager.health()[channel]["event_latency_p95_ms"] or 0) > 0, 20, "crossings")
        await asyncio.sleep(2.5)
        health = manager.health()[channel]
        worker = manager.worker(channel)
        assert worker is not None and worker.pipeline is not None
        assert worker.pipeline.frame_size == (1280, 720) and health["fps_out"] >= 5
        p95 = health["event_latency_p95_ms"]
        assert p95 is not None and 0 < p95 < 5000  # the 300 ms budget is the benchmark's to check
        run_id = health["run_id"]
    finally:
        await manager.stop()
        await simulator.stop()

    async with database.session() as session:
        run = await session.get(AnalyticsRun, run_id)
        assert run is not None and run.status == "interrupted"
        events = (await session.scalars(select(AnalyticsEvent).where(AnalyticsEvent.run_id == run_id))).all()
        tracks = await session.scalar(select(func.count()).where(AnalyticsTrack.run_id == run_id))
        rolled = await session.scalar(
            select(func.sum(AnalyticsCount.in_count + AnalyticsCount.out_count)).where(
                AnalyticsCount.run_id == run_id
            )
        )
    assert len(events) >= 3 and all(e.kind == "line" and e.channel_id == channel for e in events)
    assert {e.direction for e in events} <= {"in", "out"}
    totals = run.summary["lines"]
    assert sum(c["in"] + c["out"] for c in totals.values()) == len(events) == rolled
    assert tracks == run.summary["tracks"] > 0  # open tracks are written when the run closes
    assert run.summary["events_written"] == len(events) and run.summary["tracks_written"] == tracks

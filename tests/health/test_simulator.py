"""Health rounds against the real simulator and the real RTSP probe: faults become states and events.

Three small cameras (H.264, H.265, MPEG-4 at 15 fps) keep the CPU low. Degraded is provoked the way it
happens in the field — the camera is registered at 60 fps but streams 15 — since the simulator's
`slow_seconds` fault applies to its HTTP/ONVIF ports, not to RTSP.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import select, update

from tests.health.fakes import KEYRING
from tests.simulator.rtsp.conftest import PASSWORD, USERNAME, small_cameras
from vtrack.db.models import Camera, CameraHealth, SystemEvent
from vtrack.db.session import Database
from vtrack.events.bus import EventBus
from vtrack.events.recorder import EventRecorder
from vtrack.health.checker import HealthChecker
from vtrack.health.jobs import default_prober
from vtrack.health.monitor import STATUS_CHANGED, HealthMonitor
from vtrack.registry.cameras import PASSWORD_PURPOSE
from vtrack.simulator.config import Faults, SimulatorConfig
from vtrack.simulator.runner import Simulator

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])  # the DB side runs on both in test_monitor


@pytest.fixture(scope="module")
async def simulator() -> AsyncIterator[Simulator]:
    config = SimulatorConfig(cameras=small_cameras(), host="127.0.0.1", onvif_port_base=0, rtsp_port=0)
    sim = Simulator(config, discovery_port=None)
    await sim.start()
    yield sim
    await sim.stop()


@pytest.fixture
def faults(simulator: Simulator) -> Iterator[list[Faults]]:
    """Each camera's fault switches, all off again after the test."""
    yield [camera.faults for camera in simulator.config.cameras]
    for camera in simulator.config.cameras:
        camera.faults = Faults()


async def register(database: Database, simulator: Simulator) -> dict[str, str]:
    cameras = [
        Camera(
            name=cam.name,
            rtsp_url=cam.rtsp_url,
            username=USERNAME,
            password_encrypted=KEYRING.encrypt(PASSWORD, PASSWORD_PURPOSE),
            fps=cam.fps,
            codec=cam.codec,
        )
        for cam in simulator.cameras()
    ]
    async with database.transaction() as session:
        session.add_all(cameras)
    return {c.name: c.id for c in cameras}


def monitor_for(
    database: Database, bus: EventBus, *, timeout: float = 2.0, sample: float = 0.3
) -> HealthMonitor:
    checker = HealthChecker(default_prober(), timeout=timeout, sample_seconds=sample)
    return HealthMonitor(database, KEYRING, checker, EventRecorder(bus), concurrency=3, flush_seconds=0.05)


async def statuses(database: Database) -> dict[str, str]:
    async with database.session() as session:
        return {c.name: c.status for c in (await session.execute(select(Camera))).unique().scalars()}


async def test_online_degraded_offline_online(
    database: Database, simulator: Simulator, faults: list[Faults]
) -> None:
    ids = await register(database, simulator)
    front, parking, warehouse = (cam.name for cam in simulator.config.cameras)
    bus = EventBus()
    changes = bus.subscribe([STATUS_CHANGED])
    monitor = monitor_for(database, bus)

    first = await monitor.run_round()
    assert first.by_status == {"online": 3}, first.as_dict()
    async with database.session() as session:
        samples = list((await session.execute(select(CameraHealth))).scalars())
    assert len(samples) == 3
    for sample in samples:
        assert sample.is_connected and sample.latency_ms is not None and sample.latency_ms < 1000
        assert sample.first_frame_ms is not None and sample.fps_actual is not None
        assert 10 <= sample.fps_actual <= 20  # 15 fps streams

    # Registered at 60 fps, streaming 15: degraded.
    async with database.transaction() as session:
        await session.execute(update(Camera).where(Camera.id == ids[front]).values(fps=60))
    await monitor.run_round()
    assert (await statuses(database))[front] == "degraded"
    async with database.transaction() as session:
        await session.execute(update(Camera).where(Camera.id == ids[front]).values(fps=15))

    # Unplugged: degraded stays degraded for two failures, offline at the third.
    faults[0].offline = True
    seen = []
    for _ in range(3):
        await monitor.run_round()
        seen.append((await statuses(database))[front])
    assert seen == ["degraded", "degraded", "offline"]
    # Back, but someone changed the password: still offline, now for another reason.
    faults[0].offline = False
    faults[0].wrong_password = True
    result = await monitor.run_round()
    assert result.by_error == {"auth": 1} and (await statuses(database))[front] == "offline"
    # Fixed: online after two good checks.
    faults[0].wrong_password = False
    await monitor.run_round()
    assert (await statuses(database))[front] == "offline"
    await monitor.run_round()
    assert await statuses(database) == {front: "online", parking: "online", warehouse: "online"}

    async with database.session() as session:
        query = select(SystemEvent).where(SystemEvent.subject_id == ids[front]).order_by(SystemEvent.id)
        events = list((await session.execute(query)).scalars())
        history = list(
            (
                await session.execute(
                    select(CameraHealth)
                    .where(CameraHealth.camera_id == ids[front])
                    .order_by(CameraHealth.checked_at)
                )
            ).scalars()
        )
    assert [(e.payload["from"], e.payload["to"]) for e in events] == [
        ("idle", "online"),
        ("online", "degraded"),
        ("degraded", "offline"),
        ("offline", "online"),
    ]
    assert events[1].payload["reason"].endswith("< 50% of 60 fps")
    assert events[2].payload["reason"] == "unreachable"
    assert [h.error_kind for h in history] == [
        None,
        None,
        "unreachable",
        "unreachable",
        "unreachable",
        "auth",
        None,
        None,
    ]
    assert "admin123" not in str([h.error for h in history])
    published = [await changes.get(1) for _ in range(6)]  # 3 first checks + front's 3 changes
    assert [e.payload["to"] for e in published if e.subject_id == ids[front]][1:] == [
        "degraded",
        "offline",
        "online",
    ]


async def test_a_stalled_stream_fails_the_check(
    database: Database, simulator: Simulator, faults: list[Faults]
) -> None:
    ids = await register(database, simulator)
    name = simulator.config.cameras[1].name
    faults[1].stream_stall_seconds = 5.0  # bites after a second of video, so sample longer than that
    monitor = monitor_for(database, EventBus(), timeout=1.0, sample=1.5)
    applied = await monitor.check_camera(ids[name])
    assert not applied.sample.ok and applied.sample.error_kind == "timeout", applied.sample
    assert applied.status == "offline"  # a first check that fails

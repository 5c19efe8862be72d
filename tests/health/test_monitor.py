"""The health monitor with a scripted prober, on SQLite and PostgreSQL: rounds, batches, events, metrics."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy import delete, select, update

from tests.health.fakes import (
    AUTH,
    CHOPPY,
    DOWN,
    KEYRING,
    SLOW,
    FakeProber,
    add_cameras,
    checker,
    url_of,
)
from vtrack.db.models import Camera, CameraHealth, SystemEvent
from vtrack.db.session import Database
from vtrack.db.types import utcnow
from vtrack.devices.rtsp.errors import RtspAuthError
from vtrack.errors import NotFoundError
from vtrack.events.bus import EventBus
from vtrack.events.recorder import EventRecorder
from vtrack.health.checker import HealthChecker
from vtrack.health.metrics import HealthMetrics
from vtrack.health.monitor import STATUS_CHANGED, HealthMonitor


def monitor_for(
    database: Database,
    prober: FakeProber,
    *,
    bus: EventBus | None = None,
    metrics: HealthMetrics | None = None,
    concurrency: int = 10,
    batch_size: int = 250,
    health_checker: HealthChecker | None = None,
) -> HealthMonitor:
    return HealthMonitor(
        database,
        KEYRING,
        health_checker or checker(prober),
        EventRecorder(bus or EventBus()),
        metrics=metrics,
        concurrency=concurrency,
        batch_size=batch_size,
        flush_seconds=0.05,
    )


async def cameras_by_name(database: Database) -> dict[str, Camera]:
    async with database.session() as session:
        return {c.name: c for c in (await session.execute(select(Camera))).unique().scalars()}


async def samples_of(database: Database, camera_id: str) -> list[CameraHealth]:
    async with database.session() as session:
        query = (
            select(CameraHealth).where(CameraHealth.camera_id == camera_id).order_by(CameraHealth.checked_at)
        )
        return list((await session.execute(query)).scalars())


async def events_of(database: Database, camera_id: str) -> list[SystemEvent]:
    async with database.session() as session:
        query = select(SystemEvent).where(SystemEvent.subject_id == camera_id).order_by(SystemEvent.id)
        return list((await session.execute(query)).scalars())


async def test_a_round_checks_every_active_camera_and_records_it(database: Database) -> None:
    ids = await add_cameras(database, 6)
    await add_cameras(database, 2, prefix="off", active=False)
    prober = FakeProber(delay=0.01)
    prober.script(url_of("cam", 4), SLOW)
    prober.script(url_of("cam", 5), DOWN)
    bus = EventBus()
    changes = bus.subscribe([STATUS_CHANGED])
    before = utcnow()

    result = await monitor_for(database, prober, bus=bus, concurrency=3, batch_size=4).run_round()

    assert (result.checked, result.ok, result.failed, result.changed, result.vanished) == (6, 5, 1, 6, 0)
    assert result.by_status == {"online": 4, "degraded": 1, "offline": 1}
    assert result.by_error == {"unreachable": 1}
    assert prober.most_running == 3  # bounded concurrency, and used
    assert sorted(c["url"] for c in prober.calls) == sorted(
        url_of("cam", n) for n in range(6)
    )  # inactive skipped
    assert {c["password"] for c in prober.calls} == {f"secret{n}" for n in range(6)}  # decrypted
    assert {c["username"] for c in prober.calls} == {"admin"}

    cameras = await cameras_by_name(database)
    assert [cameras[f"cam {n}"].status for n in range(6)] == ["online"] * 4 + ["degraded", "offline"]
    assert cameras["cam 0"].last_connected_at is not None and cameras["cam 0"].last_connected_at >= before
    assert cameras["cam 5"].last_connected_at is None  # never reached
    assert (cameras["cam 0"].health_successes, cameras["cam 0"].health_failures) == (1, 0)
    assert (cameras["cam 5"].health_successes, cameras["cam 5"].health_failures) == (0, 1)
    assert all(cameras[f"cam {n}"].last_checked_at is not None for n in range(6))
    assert cameras["off 0"].status == "idle" and cameras["off 0"].last_checked_at is None

    healthy = await samples_of(database, ids[0])
    assert len(healthy) == 1 and healthy[0].is_connected and healthy[0].status == "online"
    assert (healthy[0].latency_ms, healthy[0].first_frame_ms, healthy[0].fps_actual) == (5.0, 80.0, 25.0)
    (failed,) = await samples_of(database, ids[5])
    assert (failed.is_connected, failed.status, failed.error_kind) == (False, "offline", "unreachable")
    assert "connection refused" in (failed.error or "")

    (event,) = await events_of(database, ids[4])
    assert event.kind == STATUS_CHANGED and event.subject_type == "camera"
    assert event.payload["from"] == "idle" and event.payload["to"] == "degraded"
    assert event.payload["reason"] == "latency 2500 ms > 1000 ms" and event.payload["name"] == "cam 4"
    published = [await changes.get(1) for _ in range(6)]
    assert {e.subject_id for e in published} == set(ids)
    assert all(e.id is not None for e in published)  # the persisted rows' ids


async def test_states_move_with_hysteresis_over_rounds(database: Database) -> None:
    (camera_id,) = await add_cameras(database, 1)
    url = url_of("cam", 0)
    prober = FakeProber()
    monitor = monitor_for(database, prober)
    # good, fail, fail, fail, good, good, choppy
    prober.script(url, DOWN)
    statuses = []
    plan = [None, DOWN, DOWN, DOWN, None, None, CHOPPY]
    for answer in plan:
        prober.scripts.pop(url, None)
        if answer is not None:
            prober.script(url, answer)
        await monitor.run_round()
        statuses.append((await cameras_by_name(database))["cam 0"].status)
    assert statuses == ["online", "degraded", "degraded", "offline", "offline", "online", "degraded"]
    events = await events_of(database, camera_id)
    assert [(e.payload["from"], e.payload["to"]) for e in events] == [
        ("idle", "online"),
        ("online", "degraded"),
        ("degraded", "offline"),
        ("offline", "online"),
        ("online", "degraded"),
    ]
    assert events[2].payload["reason"] == "unreachable" and "connection refused" in events[2].payload["error"]
    assert events[4].payload["reason"] == "5.0 fps < 50% of 25 fps"
    assert len(await samples_of(database, camera_id)) == len(plan)


async def test_last_connected_at_keeps_the_last_success(database: Database) -> None:
    await add_cameras(database, 1)
    prober = FakeProber()
    monitor = monitor_for(database, prober)
    await monitor.run_round()
    connected = (await cameras_by_name(database))["cam 0"].last_connected_at
    prober.script(url_of("cam", 0), AUTH)
    await monitor.run_round()
    camera = (await cameras_by_name(database))["cam 0"]
    assert camera.last_connected_at == connected
    assert camera.last_checked_at is not None and connected is not None and camera.last_checked_at > connected


async def test_a_flapping_camera_is_held_degraded(database: Database) -> None:
    (camera_id,) = await add_cameras(database, 1)
    url = url_of("cam", 0)
    prober = FakeProber()
    monitor = monitor_for(database, prober)
    for answer in ["g", "g", "f"] * 4 + ["g", "g"]:
        prober.scripts.pop(url, None)
        if answer == "f":
            prober.script(url, DOWN)
        await monitor.run_round()
    events = await events_of(database, camera_id)
    # idle->online, then online/degraded flips; with 5 changes in the window recoveries are held.
    assert [e.payload["to"] for e in events] == [
        "online",
        "degraded",
        "online",
        "degraded",
        "online",
        "degraded",
    ]
    assert (await cameras_by_name(database))["cam 0"].status == "degraded"
    last = (await samples_of(database, camera_id))[-1]
    assert last.is_connected and last.status == "degraded"


async def test_a_camera_deleted_mid_round_is_skipped(database: Database) -> None:
    ids = await add_cameras(database, 4)
    registry = CollectorRegistry()
    metrics = HealthMetrics(registry)
    prober = FakeProber(delay=0.05)
    monitor = monitor_for(database, prober, metrics=metrics, concurrency=4)
    await monitor.run_round()
    assert metrics.cameras == set(ids)

    async def delete_soon() -> None:
        await asyncio.sleep(0.01)  # the checks are running
        async with database.transaction() as session:
            await session.execute(delete(Camera).where(Camera.id == ids[1]))

    result, _ = await asyncio.gather(monitor.run_round(), delete_soon())
    assert (result.checked, result.vanished) == (3, 1)
    assert await samples_of(database, ids[1]) == []
    assert metrics.cameras == set(ids) - {ids[1]}
    assert ids[1] not in generate_latest(registry).decode()


async def test_deactivated_and_renamed_cameras_leave_no_stale_series(database: Database) -> None:
    ids = await add_cameras(database, 2)
    registry = CollectorRegistry()
    metrics = HealthMetrics(registry)
    monitor = monitor_for(database, FakeProber(), metrics=metrics)
    await monitor.run_round()
    text = generate_latest(registry).decode()
    assert f'vtrack_camera_up{{camera_id="{ids[0]}",name="cam 0"}} 1.0' in text
    assert f'vtrack_camera_status{{camera_id="{ids[0]}",name="cam 0",status="online"}} 1.0' in text
    assert f'vtrack_camera_status{{camera_id="{ids[0]}",name="cam 0",status="offline"}} 0.0' in text
    assert f'vtrack_camera_latency_seconds{{camera_id="{ids[0]}",name="cam 0"}} 0.005' in text
    assert f'vtrack_camera_fps{{camera_id="{ids[0]}",name="cam 0"}} 25.0' in text
    assert 'vtrack_health_checks_total{result="ok"} 2.0' in text
    async with database.transaction() as session:
        await session.execute(update(Camera).where(Camera.id == ids[0]).values(name="Front door"))
        await session.execute(update(Camera).where(Camera.id == ids[1]).values(is_active=False))
    await monitor.run_round()
    text = generate_latest(registry).decode()
    assert 'name="cam 0"' not in text and 'name="Front door"' in text
    assert ids[1] not in text


async def test_check_camera_records_one_check_even_for_an_inactive_camera(database: Database) -> None:
    (camera_id,) = await add_cameras(database, 1, active=False)
    prober = FakeProber()
    prober.script(url_of("cam", 0), AUTH)
    applied = await monitor_for(database, prober).check_camera(camera_id)
    assert applied.status == "offline" and applied.transition.changed and applied.name == "cam 0"
    assert applied.sample.error_kind == "auth"
    assert len(await samples_of(database, camera_id)) == 1
    with pytest.raises(NotFoundError):
        await monitor_for(database, prober).check_camera("no-such-camera")


async def test_errors_become_samples_and_passwords_stay_out(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    ids = await add_cameras(database, 4)
    async with database.transaction() as session:  # a password sealed under a key we no longer have
        await session.execute(
            update(Camera).where(Camera.id == ids[3]).values(password_encrypted="v1:unknown:AAAA")
        )
    prober = FakeProber()
    prober.script(url_of("cam", 0), RtspAuthError("camera refused user admin with password secret0"))
    prober.script(url_of("cam", 1), ZeroDivisionError("a bug in the prober"))

    async def hang(*_args: object, **_kwargs: object) -> None:
        await asyncio.sleep(60)

    slow_checker = checker(prober, timeout=0.2)
    with caplog.at_level(logging.DEBUG):
        monitor = monitor_for(database, prober, health_checker=slow_checker)
        result = await monitor.run_round()
        hanging = HealthChecker(hang, timeout=0.1)  # type: ignore[arg-type]
        started = asyncio.get_running_loop().time()
        timed_out = await monitor_for(database, prober, health_checker=hanging).check_camera(ids[2])
        elapsed = asyncio.get_running_loop().time() - started
    assert result.by_error == {"auth": 1, "internal": 1, "config": 1}
    samples = {i: (await samples_of(database, i))[0] for i in ids}
    assert samples[ids[0]].error == "camera refused user admin with password ***"
    assert samples[ids[1]].error == "ZeroDivisionError: a bug in the prober"
    assert samples[ids[3]].error_kind == "config"
    assert len(prober.calls) == 3  # the camera with the unreadable password was not probed
    assert timed_out.sample.error_kind == "timeout" and elapsed < 1.5
    assert not any(f"secret{n}" in record.getMessage() for record in caplog.records for n in range(4))
    assert "secret" not in repr(slow_checker)


async def test_an_empty_round(database: Database) -> None:
    result = await monitor_for(database, FakeProber()).run_round()
    assert result.as_dict()["checked"] == 0


async def test_progress_is_reported_per_batch(database: Database) -> None:
    await add_cameras(database, 7)
    seen: list[tuple[int, int]] = []

    async def progress(done: int, total: int) -> None:
        seen.append((done, total))

    await monitor_for(database, FakeProber(), concurrency=7, batch_size=3).run_round(progress)
    assert seen[-1] == (7, 7) and len(seen) >= 3
    assert all(total == 7 for _, total in seen)


async def test_samples_keep_their_check_time(database: Database) -> None:
    (camera_id,) = await add_cameras(database, 1)
    now = utcnow() - timedelta(hours=3)
    monitor = monitor_for(
        database, FakeProber(), health_checker=HealthChecker(FakeProber(), timeout=1, clock=lambda: now)
    )
    await monitor.run_round()
    (sample,) = await samples_of(database, camera_id)
    assert abs((sample.checked_at - now).total_seconds()) < 0.001
    (event,) = await events_of(database, camera_id)
    assert abs((event.at - now).total_seconds()) < 0.001

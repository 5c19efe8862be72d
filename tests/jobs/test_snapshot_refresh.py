"""The dashboard's pictures stay fresh: the refresh job pictures cameras without a recent snapshot, skips
offline and inactive ones, and counts failures instead of failing the run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from fastapi import FastAPI

from tests.api.test_camera_ops_api import add_camera
from tests.api.test_jobs import finished
from tests.conftest import Clients
from tests.simulator.rtsp.conftest import small_cameras
from vtrack.db.models import Camera, CameraSnapshot
from vtrack.db.repositories.snapshots import SnapshotRepository
from vtrack.db.types import utcnow
from vtrack.jobs.snapshots import SNAPSHOT_REFRESH
from vtrack.services import Services
from vtrack.settings import Settings
from vtrack.simulator.config import SimulatorConfig
from vtrack.simulator.runner import Simulator


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Refreshing every 15 minutes; the schedule's first run (at start, before any camera) finds nothing."""
    return settings.model_copy(update={"snapshot_refresh_minutes": 15})


@pytest.fixture(scope="module")
async def site() -> AsyncIterator[Simulator]:
    config = SimulatorConfig(cameras=small_cameras(), host="127.0.0.1", onvif_port_base=0, rtsp_port=0)
    simulator = Simulator(config, discovery_port=None)
    await simulator.start()
    yield simulator
    await simulator.stop()


async def _set(services: Services, camera_id: str, **values: object) -> None:
    async with services.database.transaction() as session:
        camera = await session.get(Camera, camera_id)
        assert camera is not None
        for name, value in values.items():
            setattr(camera, name, value)


async def _snapshots(services: Services, camera_id: str) -> list[CameraSnapshot]:
    async with services.database.session() as session:
        return list(await SnapshotRepository(session).recent(camera_id, 10))


async def test_stale_cameras_are_pictured_and_the_rest_left_alone(
    app: FastAPI, clients: Clients, services: Services, site: Simulator
) -> None:
    fresh, stale, offline = [await add_camera(clients.admin, site, i) for i in range(3)]
    inactive = await add_camera(clients.admin, site, 0, name="Spare")
    await _set(services, offline["id"], status="offline")
    await _set(services, inactive["id"], is_active=False)
    taken = await clients.admin.post(f"/api/v1/cameras/{fresh['id']}/snapshot", json={})
    assert taken.status_code == 201, taken.text
    await clients.admin.post(f"/api/v1/cameras/{stale['id']}/snapshot", json={})
    async with services.database.transaction() as session:  # its picture is now older than the interval
        [old] = await SnapshotRepository(session).recent(stale["id"], 1)
        old.captured_at = utcnow() - timedelta(minutes=services.settings.snapshot_refresh_minutes + 20)

    run = (await clients.admin.post("/api/v1/jobs", json={"name": SNAPSHOT_REFRESH})).json()["data"]
    result = await finished(clients.admin, run["id"], within=60)
    assert result["status"] == "succeeded", result
    assert result["result"] == {"captured": 1, "failed": 0}
    assert len(await _snapshots(services, fresh["id"])) == 1
    [new, _old] = await _snapshots(services, stale["id"])
    assert new.thumbnail_path is not None and new.captured_at > utcnow() - timedelta(minutes=1)
    assert await _snapshots(services, offline["id"]) == []
    assert await _snapshots(services, inactive["id"]) == []
    async with services.database.session() as session:  # what the dashboard's grid shows: the newest
        latest = await SnapshotRepository(session).latest_of([stale["id"], fresh["id"], offline["id"]])
    assert {k: v.id for k, v in latest.items()} == {
        stale["id"]: new.id,
        fresh["id"]: (await _snapshots(services, fresh["id"]))[0].id,
    }


async def test_a_camera_that_refuses_is_counted_not_fatal(
    clients: Clients, services: Services, site: Simulator
) -> None:
    good = await add_camera(clients.admin, site, 0)
    await add_camera(clients.admin, site, 1, password="wrong-password")
    run = (await clients.admin.post("/api/v1/jobs", json={"name": SNAPSHOT_REFRESH})).json()["data"]
    result = await finished(clients.admin, run["id"], within=60)
    assert result["status"] == "succeeded" and result["result"] == {"captured": 1, "failed": 1}, result
    assert len(await _snapshots(services, good["id"])) == 1


async def test_the_refresh_is_scheduled_every_minute(services: Services) -> None:
    [schedule] = [s for s in services.jobs.schedules() if s["name"] == SNAPSHOT_REFRESH]
    assert schedule["everySeconds"] == 60

"""Recording sync end to end: a simulated NVR's recordings land in the archive, once, through the API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import pytest
from httpx import AsyncClient

from tests.conftest import Clients, archive_settings
from tests.devices.vendor_site import HOST as VENDOR_HOST
from tests.devices.vendor_site import PASSWORD as VENDOR_PASSWORD
from tests.devices.vendor_site import USER as VENDOR_USER
from tests.devices.vendor_site import device_port, vendor_site
from tests.fakes.hls import make_ts_segments
from tests.fakes.tapo import FakeTapo
from tests.simulator.rtsp.conftest import small_cameras
from vtrack.services import Services
from vtrack.settings import Settings
from vtrack.simulator.config import SimulatorConfig
from vtrack.simulator.runner import Simulator


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return archive_settings(
        tmp_path,
        database_url,
        sync_lookback_hours=0.01,  # the automatic run right after saving finds (almost) nothing
    )


@pytest.fixture(scope="module")
async def nvr() -> AsyncIterator[Simulator]:
    config = SimulatorConfig(
        cameras=small_cameras()[:2], host="127.0.0.1", onvif_port_base=0, rtsp_port=0, nvr=True
    )
    simulator = Simulator(config, discovery_port=None)
    await simulator.start()
    yield simulator
    await simulator.stop()


def window(minutes_ago: int = 70, length: int = 2) -> tuple[datetime, datetime]:
    """A past range on the 10-minute grid, well inside the simulator's 7-day archive."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start = now - timedelta(minutes=minutes_ago)
    start -= timedelta(minutes=start.minute % 10)
    return start, start + timedelta(minutes=length)


async def finished(client: AsyncClient, job_id: str, within: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        response = await client.get(f"/api/v1/sync/jobs/{job_id}")
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()["data"]
        if data["state"] in {"done", "failed"}:
            return data
        assert time.monotonic() < deadline, data
        await asyncio.sleep(0.1)


async def save_nvr(client: AsyncClient, simulator: Simulator, name: str = "Kho NVR") -> dict[str, Any]:
    body = {
        "name": name,
        "type": "nvr",
        "host": "127.0.0.1",
        "port": simulator.devices.devices[0].port,
        "username": "admin",
        "password": "admin123",
    }
    response = await client.post("/api/v1/sources", json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def test_an_explicit_range_is_archived_once_and_a_rerun_is_quick(
    clients: Clients, nvr: Simulator, services: Services
) -> None:
    source = await save_nvr(clients.operator, nvr)
    root = services.settings.resolved_archive_dir
    camera_dirs = sorted(p.name for p in (root / "Kho NVR").iterdir())
    assert camera_dirs == ["Front Door Camera", "Parking Lot Camera"]  # made when the source was saved

    start, end = window()
    body = {"source_id": source["id"], "start": start.isoformat(), "end": end.isoformat()}
    response = await clients.operator.post("/api/v1/download-nvr-videos", json=body)
    assert response.status_code == 202, response.text
    job = await finished(clients.viewer, response.json()["data"]["jobId"])
    assert job["state"] == "done", job
    assert (job["segmentsDone"], job["segmentsFailed"]) == (2, 0) and job["bytesDone"] > 0

    files = sorted(root.rglob("*.mp4"))
    local = start.astimezone(services.archive_layout.zone)
    name = f"{local:%H%M%S}-{(local + timedelta(minutes=2)):%H%M%S}.mp4"
    assert [f.name for f in files] == [name, name]
    assert all(f.parent.name == local.date().isoformat() for f in files)
    with av.open(str(files[0])) as container:
        video = container.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (640, 360)
        assert float(container.duration or 0) / av.time_base == pytest.approx(120, abs=3)

    status = (await clients.viewer.get(f"/api/v1/sources/{source['id']}/sync-status")).json()["data"]
    assert status["files"] == {"done": 2} and status["bytesArchived"] == sum(f.stat().st_size for f in files)
    assert status["workingDirectory"].endswith("Kho NVR") and status["state"] == "idle"

    started = time.monotonic()
    again = await clients.operator.post("/api/v1/download-nvr-videos", json=body)
    rerun = await finished(clients.viewer, again.json()["data"]["jobId"])
    assert rerun["state"] == "done" and rerun["segmentsTotal"] == 0
    assert time.monotonic() - started < 2.0
    assert sorted(root.rglob("*.mp4")) == files


async def test_saving_a_source_starts_a_sync_within_seconds(clients: Clients, nvr: Simulator) -> None:
    source = await save_nvr(clients.admin, nvr, name="Auto")
    deadline = time.monotonic() + 5
    while True:
        status = (await clients.admin.get(f"/api/v1/sources/{source['id']}/sync-status")).json()["data"]
        if status["lastJobId"]:
            break
        assert time.monotonic() < deadline, status
        await asyncio.sleep(0.2)
    job = await finished(clients.admin, status["lastJobId"])
    assert job["state"] == "done", job
    status = (await clients.admin.get(f"/api/v1/sources/{source['id']}/sync-status")).json()["data"]
    assert status["lastSuccessAt"] and status["nextRunAt"] > status["lastSuccessAt"]  # then every interval


async def test_refused_credentials_put_the_source_in_error_without_retrying(
    clients: Clients, nvr: Simulator
) -> None:
    source = await save_nvr(clients.admin, nvr, name="Locked")
    for camera in nvr.config.cameras:
        camera.faults.wrong_password = True
    try:
        start, end = window(minutes_ago=200)
        response = await clients.admin.post(
            f"/api/v1/sources/{source['id']}/sync", json={"start": start.isoformat(), "end": end.isoformat()}
        )
        job = await finished(clients.admin, response.json()["data"]["jobId"])
    finally:
        for camera in nvr.config.cameras:
            camera.faults.wrong_password = False
    assert job["state"] == "failed" and "password" in (job["error"] or "")
    status = (await clients.admin.get(f"/api/v1/sources/{source['id']}/sync-status")).json()["data"]
    assert (status["state"], status["errorKind"], status["nextRunAt"]) == ("error", "auth", None)


async def test_bad_requests_name_the_field(clients: Clients, nvr: Simulator) -> None:
    source = await save_nvr(clients.admin, nvr, name="Checks")
    start, end = window()
    naive = {"source_id": source["id"], "start": "2026-11-20T08:00:00", "end": end.isoformat()}
    response = await clients.admin.post("/api/v1/download-nvr-videos", json=naive)
    assert response.status_code == 422 and "time zone" in response.text
    backwards = {"source_id": source["id"], "start": end.isoformat(), "end": start.isoformat()}
    assert (await clients.admin.post("/api/v1/download-nvr-videos", json=backwards)).status_code == 422
    other = {
        "source_id": source["id"],
        "start": start.isoformat(),
        "end": end.isoformat(),
        "cameras": ["nope"],
    }
    response = await clients.admin.post("/api/v1/download-nvr-videos", json=other)
    assert response.status_code == 422 and response.json()["error"]["details"][0]["field"] == "cameras"
    missing = {"source_id": "nope", "start": start.isoformat(), "end": end.isoformat()}
    assert (await clients.admin.post("/api/v1/download-nvr-videos", json=missing)).status_code == 404
    assert (await clients.viewer.post(f"/api/v1/sources/{source['id']}/sync", json={})).status_code == 403
    assert (await clients.viewer.get("/api/v1/sync/jobs/nope")).status_code == 404


@pytest.mark.parametrize("persona", ["dahua", "hikvision"])
async def test_vendor_files_are_downloaded_whole_and_remuxed(
    clients: Clients, services: Services, persona: str
) -> None:
    async with vendor_site(persona, nvr=True, onvif_disabled=True) as site:  # type: ignore[arg-type]
        body = {
            "name": f"{persona} site",
            "type": persona,
            "host": VENDOR_HOST,
            "port": device_port(site),
            "username": VENDOR_USER,
            "password": VENDOR_PASSWORD,
        }
        response = await clients.admin.post("/api/v1/sources", json=body)
        assert response.status_code == 201, response.text
        source = response.json()["data"]
        start, end = window(minutes_ago=120, length=5)
        request = {"source_id": source["id"], "start": start.isoformat(), "end": end.isoformat()}
        response = await clients.admin.post("/api/v1/download-nvr-videos", json=request)
        job = await finished(clients.admin, response.json()["data"]["jobId"])
    assert job["state"] == "done" and job["segmentsDone"] >= 2 and job["segmentsFailed"] == 0, job
    files = sorted((services.settings.resolved_archive_dir / f"{persona} site").rglob("*.mp4"))
    assert len(files) == job["segmentsDone"]
    with av.open(str(files[0])) as container:
        assert container.streams.video[0].codec_context.name == "h264"
    assert not list(services.settings.resolved_archive_dir.rglob(".*"))  # no .download or .part left


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")  # cameras' own certificates
async def test_tapo_sd_card_recordings_are_archived_through_the_media_port(
    clients: Clients, services: Services
) -> None:
    ts = b"".join(make_ts_segments(seconds=20, fps=5, per_segment=2, sized_pes=True))
    start, end = window(minutes_ago=120, length=5)
    async with FakeTapo() as camera:
        camera.add_recording(start + timedelta(seconds=30), 20, ts)
        camera.add_recording(start + timedelta(seconds=90), 20, ts, kind=2)
        camera.add_recording(start - timedelta(hours=3), 20, ts)  # outside the range asked for
        body = {
            "name": "Tapo porch",
            "type": "tapo",
            "host": camera.host,
            "port": camera.control_port,
            "stream_port": camera.media_port,
            "password": camera.password,
        }
        response = await clients.admin.post("/api/v1/sources", json=body)
        assert response.status_code == 201, response.text
        source = response.json()["data"]
        request = {"source_id": source["id"], "start": start.isoformat(), "end": end.isoformat()}
        response = await clients.admin.post("/api/v1/download-nvr-videos", json=request)
        job = await finished(clients.admin, response.json()["data"]["jobId"])
        requested = [m["params"]["download"] for m in camera.media_requests]
    assert job["state"] == "done" and (job["segmentsDone"], job["segmentsFailed"]) == (2, 0), job
    assert sorted(int(r["start_time"]) for r in requested) == [
        int((start + timedelta(seconds=s)).timestamp()) for s in (30, 90)
    ]
    files = sorted((services.settings.resolved_archive_dir / "Tapo porch").rglob("*.mp4"))
    assert len(files) == 2
    for file in files:
        with av.open(str(file)) as container:
            assert container.streams.video[0].codec_context.name == "h264"
            assert float(container.duration or 0) / av.time_base == pytest.approx(20, abs=1)
    assert not list(services.settings.resolved_archive_dir.rglob(".*"))  # no .download or .part left

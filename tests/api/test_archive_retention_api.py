"""Per-camera retention through the API, and the daily job that trims archives whose sync is off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.api.test_jobs import finished
from tests.conftest import Clients
from vtrack.db.models import DownloadedFile, VideoSource
from vtrack.services import Services


async def test_retention_limits_are_per_camera_and_the_daily_job_applies_them(
    clients: Clients, services: Services
) -> None:
    created = await clients.admin.post(
        "/api/v1/cameras",
        json={"name": "Gate", "rtsp_url": "rtsp://127.0.0.1:9/x", "retention_max_age_days": 3},
    )
    assert created.status_code == 201 and created.json()["data"]["retentionMaxAgeDays"] == 3
    camera_id = created.json()["data"]["id"]
    bad = await clients.admin.put(f"/api/v1/cameras/{camera_id}", json={"retention_max_gb": 0})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "retention_max_gb"

    layout = services.archive_layout
    old_start = datetime.now(UTC) - timedelta(days=5)
    new_start = datetime.now(UTC) - timedelta(hours=1)
    async with services.database.transaction() as session:
        source = VideoSource(name="Off", source_type="nvr", config={})
        session.add(source)
        await session.flush()
        for start in (old_start, new_start):
            path = layout.path_for("Off", "Gate", start, start + timedelta(minutes=10))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"video")
            session.add(
                DownloadedFile(
                    source_id=source.id,
                    camera_id=camera_id,
                    remote_id=str(start),
                    range_start=start,
                    range_end=start + timedelta(minutes=10),
                    path=layout.relative(path),
                    size_bytes=5,
                    state="done",
                    attempts=1,
                )
            )
    run = (await clients.admin.post("/api/v1/jobs", json={"name": "archive.retention"})).json()["data"]
    result = await finished(clients.admin, run["id"])
    assert result["status"] == "succeeded" and result["result"] == {"cameras": 1, "deleted": 1}, result
    left = sorted(p.name for p in layout.root.rglob("*.mp4"))
    assert left == [layout.path_for("Off", "Gate", new_start, new_start + timedelta(minutes=10)).name]

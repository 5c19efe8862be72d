"""Browsing the archive through the API: filters by local day, cloud isolation, and seekable playback,
for device recordings and for videos synced from cloud drives alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import av
import numpy as np
from httpx import AsyncClient

from tests.conftest import Clients
from vtrack.db.models import Camera, CloudFile, DownloadedFile, VideoSource
from vtrack.services import Services

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def write_mp4(path: Path, frames: int = 12) -> None:
    """A small real MP4 (H.264), as sync's remux leaves in the archive."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=12)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for i in range(frames):
            image = np.full((120, 160, 3), i * 20 % 255, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


@dataclass
class Seeded:
    source_id: str
    camera_ids: dict[str, str]
    file_ids: list[str] = field(default_factory=list)


async def seed_archive(
    services: Services,
    source_name: str,
    files: list[tuple[str, datetime]],
    *,
    source_type: str = "nvr",
    owner_id: str | None = None,
    minutes: int = 10,
    state: str = "done",
) -> Seeded:
    """A source, its cameras and done archive files (camera name, UTC start), as sync would leave them."""
    layout = services.archive_layout
    async with services.database.transaction() as session:
        source = VideoSource(name=source_name, source_type=source_type, owner_id=owner_id, config={})
        session.add(source)
        await session.flush()
        cameras: dict[str, str] = {}
        for name in sorted({name for name, _ in files}):
            camera = Camera(
                name=f"{source_name} {name}", rtsp_url="rtsp://127.0.0.1:9/x", source_id=source.id
            )
            session.add(camera)
            await session.flush()
            cameras[name] = camera.id
        seeded = Seeded(source.id, cameras)
        for name, start in files:
            end = start + timedelta(minutes=minutes)
            path = layout.path_for(source_name, name, start, end)
            write_mp4(path)
            row = DownloadedFile(
                source_id=source.id,
                camera_id=cameras[name],
                remote_id=f"{name}-{start.isoformat()}",
                range_start=start,
                range_end=end,
                path=layout.relative(path),
                size_bytes=path.stat().st_size,
                duration_seconds=minutes * 60.0,
                state=state,
                attempts=1,
            )
            session.add(row)
            await session.flush()
            seeded.file_ids.append(row.id)
    return seeded


@dataclass(frozen=True)
class Remote:
    """A cloud file as a provider lists it: where it is there, when it changed, what type it says."""

    path: str
    modified: datetime
    content_type: str | None = "video/mp4"
    state: str = "done"


async def seed_cloud(
    services: Services, source_name: str, files: list[Remote], *, owner_id: str, source_type: str = "dropbox"
) -> Seeded:
    """A cloud source and its synced files, archived under {root}/{source}/{remote path} as sync does."""
    layout = services.archive_layout
    async with services.database.transaction() as session:
        source = VideoSource(name=source_name, source_type=source_type, owner_id=owner_id, config={})
        session.add(source)
        await session.flush()
        seeded = Seeded(source.id, {})
        for file in files:
            path = layout.root / source_name / file.path.lstrip("/")
            write_mp4(path)
            row = CloudFile(
                source_id=source.id,
                remote_id=f"id:{file.path}",
                remote_path=file.path,
                size_bytes=path.stat().st_size,
                modified_at=file.modified,
                content_type=file.content_type,
                path=layout.relative(path) if file.state == "done" else None,
                state=file.state,
                attempts=1,
                finished_at=datetime.now(UTC) if file.state == "done" else None,
            )
            session.add(row)
            await session.flush()
            seeded.file_ids.append(row.id)
    return seeded


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=ZONE).astimezone(UTC)


async def ids(client: AsyncClient, query: str = "") -> list[str]:
    response = await client.get(f"/api/v1/recordings{query}")
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["data"]]


async def user_id(client: AsyncClient) -> str:
    return str((await client.get("/api/v1/auth/me")).json()["data"]["id"])


async def test_listing_is_newest_first_and_a_day_is_the_configured_zones_day(
    clients: Clients, services: Services
) -> None:
    late, after_midnight, morning = (
        local(2026, 11, 20, 23, 30),
        local(2026, 11, 21, 0, 10),
        local(2026, 11, 20, 10),
    )
    kho = await seed_archive(services, "Kho", [("Gate", late), ("Gate", after_midnight), ("Yard", morning)])
    await seed_archive(services, "Half", [("Gate", morning)], state="downloading")
    late_id, after_id, morning_id = kho.file_ids

    response = await clients.viewer.get("/api/v1/recordings")
    body = response.json()
    assert [item["id"] for item in body["data"]] == [after_id, late_id, morning_id]  # not the unfinished one
    assert body["meta"] == {"page": 1, "pageSize": 50, "total": 3, "totalPages": 1}
    first = body["data"][1]
    assert first["sourceId"] == kho.source_id and first["sourceName"] == "Kho"
    assert first["cameraId"] == kho.camera_ids["Gate"] and first["cameraName"] == "Kho Gate"
    assert first["startAt"].startswith("2026-11-20T16:30:00") and first["endAt"].startswith(
        "2026-11-20T16:40"
    )
    assert first["durationSeconds"] == 600 and first["sizeBytes"] > 0
    assert first["container"] == "mp4" and first["contentType"] == "video/mp4"
    assert first["path"] == "Kho/Gate/2026-11-20/233000-234000.mp4"
    assert first["videoUrl"] == f"/api/v1/recordings/{late_id}/video"

    # 23:30 local on the 20th is 16:30 UTC: the 20th's, not the 21st's; 00:10 on the 21st is the 21st's.
    assert await ids(clients.viewer, "?date=2026-11-20") == [late_id, morning_id]
    assert await ids(clients.viewer, "?date=2026-11-21") == [after_id]
    assert await ids(clients.viewer, f"?camera_id={kho.camera_ids['Yard']}") == [morning_id]
    assert await ids(clients.viewer, f"?source_id={kho.source_id}&date=2026-11-21") == [after_id]
    overlapping = "?from=2026-11-20T23:35:00%2B07:00&to=2026-11-21T00:05:00%2B07:00"
    assert await ids(clients.viewer, overlapping) == [late_id]
    paged = (await clients.viewer.get("/api/v1/recordings?page=2&page_size=2")).json()
    assert [item["id"] for item in paged["data"]] == [morning_id] and paged["meta"]["totalPages"] == 2

    for query, field_name in (
        ("?from=2026-11-20T10:00:00", "from"),  # no zone: which 10:00?
        ("?date=2026-13-01", "date"),
        ("?date=0001-01-01", "date"),  # its local midnight is before the first UTC instant datetime holds
        ("?from=0001-01-01T00:00:00%2B07:00", "from"),
    ):
        bad = await clients.viewer.get(f"/api/v1/recordings{query}")
        assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == field_name
    backwards = await clients.viewer.get(
        "/api/v1/recordings?from=2026-11-21T00:00:00Z&to=2026-11-20T00:00:00Z"
    )
    assert backwards.status_code == 422 and backwards.json()["error"]["code"] == "validation_error"

    one = (await clients.viewer.get(f"/api/v1/recordings/{late_id}")).json()["data"]
    assert one["id"] == late_id and (one["previousId"], one["nextId"]) == (None, after_id)
    assert (await clients.viewer.get(f"/api/v1/recordings/{after_id}")).json()["data"][
        "previousId"
    ] == late_id
    assert (await clients.anonymous.get("/api/v1/recordings")).status_code == 401


async def test_video_is_served_with_ranges_and_the_archive_root_is_a_jail(
    clients: Clients, services: Services
) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    seeded = await seed_archive(
        services, "Cổng", [("Trước", start), ("Trước", start + timedelta(minutes=10))]
    )
    file_id, gone_id = seeded.file_ids
    root = services.settings.resolved_archive_dir
    path = next(root.rglob("*.mp4"))
    rows = (await clients.viewer.get(f"/api/v1/recordings/{file_id}")).json()["data"]
    data = (root / rows["path"]).read_bytes()

    full = await clients.viewer.get(f"/api/v1/recordings/{file_id}/video")
    assert full.status_code == 200 and full.content == data
    assert full.headers["content-type"] == "video/mp4" and full.headers["accept-ranges"] == "bytes"
    assert full.headers["content-disposition"].startswith("inline")
    part = await clients.viewer.get(f"/api/v1/recordings/{file_id}/video", headers={"Range": "bytes=10-99"})
    assert part.status_code == 206 and part.content == data[10:100]
    assert part.headers["content-range"] == f"bytes 10-99/{len(data)}"
    tail = await clients.viewer.get(f"/api/v1/recordings/{file_id}/video", headers={"Range": "bytes=-16"})
    assert tail.status_code == 206 and tail.content == data[-16:]
    assert path.exists()

    gone = (await clients.viewer.get(f"/api/v1/recordings/{gone_id}")).json()["data"]
    (root / gone["path"]).unlink()
    missing = await clients.viewer.get(f"/api/v1/recordings/{gone_id}/video")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert "no longer in the archive" in missing.json()["error"]["message"]
    assert (await clients.viewer.get("/api/v1/recordings/nope/video")).status_code == 404

    # An index row that names a path outside the root, by "..", or through a link planted in the archive.
    outside = root.parent / "secret.mp4"
    outside.write_bytes(b"not yours")
    (root / "Cổng" / "Trước" / "link.mp4").symlink_to(outside)
    for bad_path in ("../secret.mp4", "Cổng/Trước/link.mp4", "/etc/passwd"):
        async with services.database.transaction() as session:
            row = await session.get(DownloadedFile, file_id)
            assert row is not None
            row.path = bad_path
        refused = await clients.viewer.get(f"/api/v1/recordings/{file_id}/video")
        assert refused.status_code == 403, (bad_path, refused.text)
        assert refused.json()["error"]["code"] == "forbidden" and "not inside the archive" in refused.text


async def test_another_users_cloud_source_files_do_not_exist_for_you(
    clients: Clients, services: Services
) -> None:
    start = local(2026, 11, 20, 8)
    shared = await seed_archive(services, "NVR", [("Gate", start)])
    mine = await seed_archive(
        services,
        "Op Drive",
        [("Box", start)],
        source_type="dropbox",
        owner_id=await user_id(clients.operator),
    )
    (private_id,) = mine.file_ids

    assert await ids(clients.viewer) == shared.file_ids
    assert await ids(clients.viewer, f"?source_id={mine.source_id}") == []
    assert sorted(await ids(clients.operator)) == sorted(shared.file_ids + [private_id])
    assert sorted(await ids(clients.admin)) == sorted(shared.file_ids + [private_id])
    for suffix in ("", "/video"):
        hidden = await clients.viewer.get(f"/api/v1/recordings/{private_id}{suffix}")
        assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "not_found"
        assert (await clients.operator.get(f"/api/v1/recordings/{private_id}{suffix}")).status_code == 200


async def test_cloud_files_are_listed_with_device_files_in_time_order(
    clients: Clients, services: Services
) -> None:
    kho = await seed_archive(
        services,
        "Kho",
        [
            ("Gate", local(2026, 11, 20, 8)),
            ("Gate", local(2026, 11, 20, 12)),
            ("Yard", local(2026, 11, 20, 10)),
        ],
    )
    gate8, gate12, yard10 = kho.file_ids
    drive = await seed_cloud(
        services,
        "Op Drive",
        [
            Remote("/Camera Uploads/a.mp4", local(2026, 11, 20, 9)),
            Remote("/Camera Uploads/late.MOV", local(2026, 11, 20, 23, 59, 59), "application/octet-stream"),
            Remote("/x/midnight.mp4", local(2026, 11, 21), None),  # 17:00 UTC on the 20th
            Remote("/Camera Uploads/pending.mp4", local(2026, 11, 20, 11), state="downloading"),
            Remote("/Camera Uploads/b", local(2026, 11, 20, 9), "Video/MP4; codecs=avc1"),  # a's time too
        ],
        owner_id=await user_id(clients.operator),
    )
    a9, late, midnight, pending, b9 = drive.file_ids
    admins = await seed_cloud(
        services,
        "Admin S3",
        [Remote("/clip.mp4", local(2026, 11, 20, 11))],
        owner_id=await user_id(clients.admin),
    )
    (admin_clip,) = admins.file_ids
    nine = sorted([a9, b9])  # the same instant: by id, as the listing breaks ties

    mine = (await clients.operator.get("/api/v1/recordings")).json()
    assert [item["id"] for item in mine["data"]] == [midnight, late, gate12, yard10, *nine, gate8]
    assert mine["meta"]["total"] == 7  # neither the pending file nor the admin's
    by_id = {item["id"]: item for item in mine["data"]}
    cloud = by_id[late]
    assert (
        cloud["kind"] == "cloud"
        and cloud["sourceId"] == drive.source_id
        and cloud["sourceName"] == "Op Drive"
    )
    assert cloud["sourceType"] == "dropbox" and cloud["cameraId"] is None and cloud["cameraName"] is None
    assert (
        cloud["remotePath"] == "/Camera Uploads/late.MOV"
        and cloud["path"] == "Op Drive/Camera Uploads/late.MOV"
    )
    assert cloud["startAt"].startswith("2026-11-20T16:59:59") and cloud["endAt"] is None
    assert cloud["durationSeconds"] is None and cloud["sizeBytes"] > 0
    assert cloud["container"] == "mov" and cloud["contentType"] == "video/quicktime"  # octet-stream: by name
    assert cloud["videoUrl"] == f"/api/v1/recordings/{late}/video"
    assert by_id[b9]["contentType"] == "video/mp4" and by_id[b9]["container"] == "unknown"  # the provider's
    assert by_id[midnight]["contentType"] == "video/mp4"  # no stored type: by name
    device = by_id[yard10]
    assert device["kind"] == "device" and device["remotePath"] is None
    assert device["cameraId"] == kho.camera_ids["Yard"] and device["cameraName"] == "Kho Yard"

    assert await ids(clients.admin) == [midnight, late, gate12, admin_clip, yard10, *nine, gate8]
    assert await ids(clients.viewer) == [gate12, yard10, gate8]  # nobody's cloud files but one's own
    assert await ids(clients.viewer, f"?source_id={drive.source_id}") == []
    assert await ids(clients.operator, f"?camera_id={kho.camera_ids['Gate']}") == [gate12, gate8]
    assert await ids(clients.operator, f"?source_id={drive.source_id}") == [midnight, late, *nine]
    # 23:59:59 local is the 20th's and local midnight the 21st's, though both are the 20th in UTC.
    assert await ids(clients.operator, "?date=2026-11-20") == [late, gate12, yard10, *nine, gate8]
    assert await ids(clients.operator, "?date=2026-11-21") == [midnight]
    assert await ids(clients.operator, f"?date=2026-11-21&camera_id={kho.camera_ids['Gate']}") == []
    # A device file overlapping the range; a cloud file modified inside it ([from, to)).
    window = "?from=2026-11-20T09:00:00%2B07:00&to=2026-11-20T10:05:00%2B07:00"
    assert await ids(clients.operator, window) == [yard10, *nine]
    assert await ids(
        clients.operator, "?from=2026-11-20T08:05:00%2B07:00&to=2026-11-20T09:00:00%2B07:00"
    ) == [gate8]
    paged = (await clients.operator.get("/api/v1/recordings?page=2&page_size=3")).json()
    assert [item["id"] for item in paged["data"]] == [yard10, *nine] and paged["meta"]["totalPages"] == 3

    one = (await clients.operator.get(f"/api/v1/recordings/{late}")).json()["data"]
    assert one["kind"] == "cloud" and one["remotePath"] == "/Camera Uploads/late.MOV"
    assert (one["previousId"], one["nextId"]) == (nine[1], midnight)  # the same source, by modified time
    first = (await clients.operator.get(f"/api/v1/recordings/{nine[0]}")).json()["data"]
    assert (first["previousId"], first["nextId"]) == (None, nine[1])  # tied in time, still a step apart
    second = (await clients.operator.get(f"/api/v1/recordings/{nine[1]}")).json()["data"]
    assert (second["previousId"], second["nextId"]) == (nine[0], late)
    last = (await clients.operator.get(f"/api/v1/recordings/{midnight}")).json()["data"]
    assert (last["previousId"], last["nextId"]) == (late, None)

    for client, hidden in ((clients.operator, pending), (clients.operator, admin_clip), (clients.viewer, a9)):
        for suffix in ("", "/video"):
            response = await client.get(f"/api/v1/recordings/{hidden}{suffix}")
            assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert (await clients.admin.get(f"/api/v1/recordings/{a9}/video")).status_code == 200


async def test_a_cloud_files_video_is_served_with_ranges_inside_the_archive(
    clients: Clients, services: Services
) -> None:
    drive = await seed_cloud(
        services,
        "Drive",
        [
            Remote("/Videos/door.mov", local(2026, 11, 20, 9), "video/quicktime"),
            Remote("/Videos/gone.mp4", local(2026, 11, 20, 10)),
        ],
        owner_id=await user_id(clients.operator),
        source_type="onedrive",
    )
    file_id, gone_id = drive.file_ids
    root = services.settings.resolved_archive_dir
    data = (root / "Drive" / "Videos" / "door.mov").read_bytes()

    full = await clients.operator.get(f"/api/v1/recordings/{file_id}/video")
    assert full.status_code == 200 and full.content == data
    assert full.headers["content-type"] == "video/quicktime" and full.headers["accept-ranges"] == "bytes"
    assert full.headers["content-disposition"].startswith("inline")
    part = await clients.operator.get(f"/api/v1/recordings/{file_id}/video", headers={"Range": "bytes=10-99"})
    assert part.status_code == 206 and part.content == data[10:100]
    assert part.headers["content-range"] == f"bytes 10-99/{len(data)}"

    (root / "Drive" / "Videos" / "gone.mp4").unlink()
    missing = await clients.operator.get(f"/api/v1/recordings/{gone_id}/video")
    assert missing.status_code == 404 and "no longer in the archive" in missing.json()["error"]["message"]

    (root.parent / "secret.mp4").write_bytes(b"not yours")
    async with services.database.transaction() as session:
        row = await session.get(CloudFile, file_id)
        assert row is not None
        row.path = "../secret.mp4"
    refused = await clients.operator.get(f"/api/v1/recordings/{file_id}/video")
    assert refused.status_code == 403 and "not inside the archive" in refused.text

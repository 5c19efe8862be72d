"""The sync engine, scripted devices, the real archive: dedup, gaps, kills, auth, full disk, retention."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from vtrack.archive.disk import DiskGuard
from vtrack.archive.errors import ArchiveFullError
from vtrack.archive.layout import ArchiveLayout
from vtrack.db.models import Camera, DownloadedFile, Recording, VideoSource
from vtrack.db.session import Database
from vtrack.devices.errors import DeviceError
from vtrack.sync.archive_adapter import LocalArchive
from vtrack.sync.engine import EngineOptions, Fetched, SyncAuthError, SyncEngine, SyncRequest
from vtrack.sync.plan import Chunk, Wanted
from vtrack.sync.retry import RetryPolicy

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
HOUR = (T0, T0 + timedelta(hours=1))
BYTES_PER_SECOND = 1000


@dataclass
class FakeNvr:
    """Answers searches with one hour-long recording per camera and 'downloads' bytes for any range."""

    recorded: tuple[datetime, datetime] = HOUR
    fetches: list[tuple[str, datetime]] = field(default_factory=list)
    fail: dict[datetime, int] = field(default_factory=dict)  # chunk start -> transient failures left
    auth_error: bool = False
    hold: asyncio.Event | None = None  # fetches wait on it (to kill a run midway)
    started: asyncio.Event = field(default_factory=asyncio.Event)

    async def search(
        self, source: VideoSource, password: str | None, camera: Camera, start: datetime, end: datetime
    ) -> list[Wanted]:
        if self.auth_error:
            raise DeviceError("the NVR refused the username or password", "auth")
        assert password == "nvr-pass"
        return [
            Wanted(camera.id, *self.recorded, f"rec-{camera.channel}", "onvif_replay", "rtsp://nvr/replay")
        ]

    async def fetch(
        self,
        source: VideoSource,
        password: str | None,
        camera: Camera,
        chunk: Chunk,
        part: Path,
        progress: Callable[[int, float], Awaitable[None]],
    ) -> Fetched:
        self.fetches.append((chunk.camera_id, chunk.start))
        self.started.set()
        if self.hold is not None:
            await self.hold.wait()
        if self.fail.get(chunk.start, 0) > 0:
            self.fail[chunk.start] -= 1
            part.write_bytes(b"half")  # a failed attempt leaves a partial file behind
            raise DeviceError("connection reset by the NVR", "unreachable")
        data = os.urandom(int(chunk.seconds) * BYTES_PER_SECOND // 100)
        part.write_bytes(data)
        await progress(len(data), chunk.seconds)
        return Fetched(len(data), chunk.seconds)


async def make_source(database: Database, cameras: int = 2) -> tuple[str, list[str]]:
    async with database.transaction() as session:
        source = VideoSource(name="Kho Hà Nội", source_type="nvr", host="127.0.0.1", port=80, config={})
        session.add(source)
        await session.flush()
        rows = [
            Camera(name=f"Cổng {n}", rtsp_url=f"rtsp://127.0.0.1/{n}", source_id=source.id, channel=n)
            for n in range(1, cameras + 1)
        ]
        session.add_all(rows)
        await session.flush()
        return source.id, [row.id for row in rows]


def engine(
    database: Database, root: Path, nvr: FakeNvr, guard: DiskGuard | None = None, **archive: object
) -> SyncEngine:
    layout = ArchiveLayout(root, "Asia/Ho_Chi_Minh")
    local = LocalArchive(layout, guard or DiskGuard(root, reserve_bytes=0, reserve_inodes=0), **archive)  # type: ignore[arg-type]
    options = EngineOptions(
        chunk=timedelta(minutes=10),
        zone=ZoneInfo("Asia/Ho_Chi_Minh"),
        retry=RetryPolicy(attempts=3, base_seconds=0.001, max_seconds=0.002),
    )
    return SyncEngine(database, lambda source: "nvr-pass", nvr.search, nvr.fetch, local, options)


async def files(database: Database) -> list[DownloadedFile]:
    async with database.session() as session:
        return list(
            (await session.execute(select(DownloadedFile).order_by(DownloadedFile.range_start))).scalars()
        )


async def test_first_run_archives_every_chunk_and_a_rerun_fetches_nothing(
    database: Database, tmp_path: Path
) -> None:
    source_id, cameras = await make_source(database)
    nvr = FakeNvr()
    outcome = await engine(database, tmp_path, nvr).run(SyncRequest(source_id, *HOUR))
    assert (outcome.chunks_planned, outcome.chunks_done, outcome.chunks_failed) == (12, 12, 0)
    rows = await files(database)
    assert len(rows) == 12 and {r.state for r in rows} == {"done"}
    first = tmp_path / "Kho Hà Nội" / "Cổng 1" / "2026-11-20" / "160000-161000.mp4"  # local time, names kept
    assert first.is_file() and any(r.path == "Kho Hà Nội/Cổng 1/2026-11-20/160000-161000.mp4" for r in rows)
    assert all(len(r.sha256 or "") == 64 and r.size_bytes for r in rows)
    assert not list(tmp_path.rglob("*.part"))
    async with database.session() as session:
        assert len((await session.execute(select(Recording))).scalars().all()) == 2

    nvr.fetches.clear()
    again = await engine(database, tmp_path, nvr).run(SyncRequest(source_id, *HOUR))
    assert (again.chunks_planned, nvr.fetches) == (0, [])


async def test_transient_failures_are_retried_and_a_lost_chunk_is_filled_next_run(
    database: Database, tmp_path: Path
) -> None:
    source_id, _ = await make_source(database, cameras=1)
    nvr = FakeNvr(fail={T0 + timedelta(minutes=10): 2, T0 + timedelta(minutes=20): 3})
    outcome = await engine(database, tmp_path, nvr).run(SyncRequest(source_id, *HOUR))
    assert (outcome.chunks_done, outcome.chunks_failed) == (5, 1)  # 10:10 came through on its third try
    failed = [r for r in await files(database) if r.state == "failed"]
    assert [r.range_start for r in failed] == [T0 + timedelta(minutes=20)] and "reset" in (
        failed[0].error or ""
    )
    assert not list(tmp_path.rglob("*.part"))

    nvr.fetches.clear()
    second = await engine(database, tmp_path, nvr).run(SyncRequest(source_id, *HOUR))
    assert nvr.fetches == [(failed[0].camera_id, T0 + timedelta(minutes=20))] and second.chunks_done == 1
    rows = await files(database)
    assert len(rows) == 6 and {r.state for r in rows} == {"done"}


async def test_a_run_killed_midway_resumes_without_duplicates(database: Database, tmp_path: Path) -> None:
    source_id, _ = await make_source(database)
    nvr = FakeNvr(hold=asyncio.Event())
    run = asyncio.create_task(engine(database, tmp_path, nvr).run(SyncRequest(source_id, *HOUR)))
    await nvr.started.wait()
    await asyncio.sleep(0.05)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert {r.state for r in await files(database)} <= {"downloading"}
    assert not [p for p in tmp_path.rglob("*.mp4")]  # nothing at a final path

    nvr.hold = None
    outcome = await engine(database, tmp_path, nvr).run(SyncRequest(source_id, *HOUR))
    assert outcome.chunks_done == 12
    rows = await files(database)
    assert len(rows) == 12 and {r.state for r in rows} == {"done"}
    assert len(list(tmp_path.rglob("*.mp4"))) == 12 and not list(tmp_path.rglob("*.part"))


async def test_refused_credentials_stop_the_run_at_once(database: Database, tmp_path: Path) -> None:
    source_id, _ = await make_source(database)
    nvr = FakeNvr(auth_error=True)
    with pytest.raises(SyncAuthError, match="refused"):
        await engine(database, tmp_path, nvr).run(SyncRequest(source_id, *HOUR))
    assert nvr.fetches == [] and await files(database) == []


async def test_a_disk_below_the_reserve_stops_before_writing(database: Database, tmp_path: Path) -> None:
    source_id, _ = await make_source(database)
    full = DiskGuard(tmp_path, reserve_bytes=10**18, reserve_inodes=0)
    with pytest.raises(ArchiveFullError, match="reserve"):
        await engine(database, tmp_path, FakeNvr(), guard=full).run(SyncRequest(source_id, *HOUR))
    assert await files(database) == [] and not list(tmp_path.rglob("*.mp4"))


async def test_retention_deletes_the_oldest_indexed_files_only(database: Database, tmp_path: Path) -> None:
    source_id, _ = await make_source(database, cameras=1)
    stranger = tmp_path / "Kho Hà Nội" / "Cổng 1" / "2026-11-20" / "notes.txt"
    outcome = await engine(database, tmp_path, FakeNvr(), max_bytes_per_camera=4 * 6000).run(
        SyncRequest(source_id, *HOUR)
    )
    stranger.write_text("not vtrack's")
    assert outcome.retention_deleted == 2  # six 6,000-byte files, room for four
    rows = await files(database)
    assert [r.state for r in rows] == ["deleted", "deleted", "done", "done", "done", "done"]
    assert len(list(tmp_path.rglob("*.mp4"))) == 4 and stranger.exists()


async def test_a_killed_runs_stale_part_files_are_swept_and_fresh_ones_kept(
    database: Database, tmp_path: Path
) -> None:
    source_id, _ = await make_source(database, cameras=1)
    day = tmp_path / "Kho Hà Nội" / "Cổng 1" / "2026-11-20"
    day.mkdir(parents=True)
    stale = day / ".160000-161000.mp4.0123456789abcdef.part"
    fresh = day / ".161000-162000.mp4.fedcba9876543210.part"  # another worker's download in progress
    stale.write_bytes(b"x")
    fresh.write_bytes(b"y")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    await engine(database, tmp_path, FakeNvr()).run(SyncRequest(source_id, *HOUR))
    assert not stale.exists() and fresh.exists()


async def test_a_cameras_own_retention_limit_wins_over_the_default(
    database: Database, tmp_path: Path
) -> None:
    source_id, cameras = await make_source(database, cameras=2)
    async with database.transaction() as session:
        first = await session.get(Camera, cameras[0])
        assert first is not None
        first.retention_max_gb = 12_000 / 1e9  # room for two 6,000-byte files; camera 2 keeps the default
    outcome = await engine(database, tmp_path, FakeNvr(), max_bytes_per_camera=4 * 6000).run(
        SyncRequest(source_id, *HOUR)
    )
    kept = {c: [r for r in await files(database) if r.camera_id == c and r.state == "done"] for c in cameras}
    assert (len(kept[cameras[0]]), len(kept[cameras[1]])) == (2, 4) and outcome.retention_deleted == 6

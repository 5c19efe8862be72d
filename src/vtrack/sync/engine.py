"""One sync run of one source: search each camera's recordings, plan what is missing, fetch it, index it.

The order is what makes a run safe to kill at any moment:
1. a `downloaded_files` row is written `downloading` (with its final path) before the first byte;
2. bytes go to a `.part` file beside the final path, which is verified (duration and times against
   the chunk asked for) and hashed;
3. the `.part` is renamed into place, then the row becomes `done` with size and sha256.
A kill before 3 leaves a `downloading` row and a `.part`: the next run plans that chunk again (only
`done` rows count as archived) and the archive's partial-file cleanup removes the leftover. A kill
between the rename and the row update leaves a complete file that the next run rewrites in place.
Nothing is ever half-written at a final path, and nothing is fetched twice once it is `done`.

Device access is bounded per source (`device_concurrency`): NVRs serve few playback sessions at
once. Transient failures are retried with backoff (sync/retry.py); a refused password stops the run
at once (SyncAuthError), and a full disk pauses it (ArchiveFullError) before anything is written.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from vtrack.db.models import Camera, DownloadedFile, Recording, VideoSource
from vtrack.db.repositories.sources import SourceRepository
from vtrack.db.repositories.sync import SyncRepository
from vtrack.db.session import Database
from vtrack.db.types import utcnow
from vtrack.devices.errors import DeviceError
from vtrack.errors import NotFoundError
from vtrack.sync.plan import Chunk, Wanted, plan_chunks
from vtrack.sync.progress import SyncProgress
from vtrack.sync.retry import RetryPolicy, with_retries

log = logging.getLogger(__name__)

ProgressCallback = Callable[[SyncProgress], Awaitable[None]]


class SyncAuthError(DeviceError):
    """The device refused the source's credentials: the run stops and is not retried until they change."""

    kind = "auth"

    def __init__(self, detail: str) -> None:
        super().__init__(f"the device refused the source's username or password ({detail})")


@dataclass(frozen=True)
class Fetched:
    """What a fetcher wrote to the `.part` file, read back from the file itself."""

    size_bytes: int
    duration_seconds: float
    first: datetime | None = None
    last: datetime | None = None


class Searcher(Protocol):
    async def __call__(
        self, source: VideoSource, password: str | None, camera: Camera, start: datetime, end: datetime
    ) -> list[Wanted]: ...


class Fetcher(Protocol):
    async def __call__(
        self,
        source: VideoSource,
        password: str | None,
        camera: Camera,
        chunk: Chunk,
        part: Path,
        progress: Callable[[int, float], Awaitable[None]],
    ) -> Fetched: ...


class Archive(Protocol):
    """The archive's side of a run (vtrack.archive): where a chunk goes, room for it, atomic writes."""

    def final_path(self, source: VideoSource, camera: Camera, chunk: Chunk) -> Path: ...
    def relative(self, path: Path) -> str: ...
    def resolve(self, relative: str) -> Path: ...
    async def ensure_room(self, expected_bytes: int) -> None: ...
    async def commit(self, part: Path, final: Path) -> str: ...  # rename into place; returns sha256
    async def part_path(self, final: Path) -> Path: ...  # beside `final`, its directory made
    async def discard(self, part: Path) -> None: ...
    async def apply_retention(self, camera: Camera, files: list[DownloadedFile]) -> list[str]: ...
    async def cleanup(self, source: VideoSource, cameras: list[Camera]) -> int: ...  # stale .part files


@dataclass(frozen=True)
class SyncRequest:
    source_id: str
    start: datetime
    end: datetime
    camera_ids: list[str] | None = None


@dataclass
class SyncOutcome:
    source_id: str
    start: datetime
    end: datetime
    cameras: int = 0
    recordings_found: int = 0
    chunks_planned: int = 0
    chunks_done: int = 0
    chunks_failed: int = 0
    bytes_done: int = 0
    media_seconds: float = 0.0
    retention_deleted: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self, progress: SyncProgress | None = None) -> dict[str, object]:
        out: dict[str, object] = {
            "source_id": self.source_id,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "cameras": self.cameras,
            "recordings_found": self.recordings_found,
            "chunks_planned": self.chunks_planned,
            "chunks_done": self.chunks_done,
            "chunks_failed": self.chunks_failed,
            "bytes_done": self.bytes_done,
            "media_seconds": round(self.media_seconds, 1),
            "retention_deleted": self.retention_deleted,
            "errors": self.errors[:20],
        }
        if progress is not None:
            out.update(progress.as_dict())
        return out


@dataclass(frozen=True)
class EngineOptions:
    chunk: timedelta = timedelta(minutes=10)
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Ho_Chi_Minh"))
    device_concurrency: int = 2
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    bytes_per_second_estimate: int = 250_000  # for the room check before a chunk of unknown size


class SyncEngine:
    def __init__(
        self,
        database: Database,
        password_of: Callable[[VideoSource], str | None],
        searcher: Searcher,
        fetcher: Fetcher,
        archive: Archive,
        options: EngineOptions,
    ) -> None:
        self.database = database
        self.password_of = password_of
        self.searcher = searcher
        self.fetcher = fetcher
        self.archive = archive
        self.options = options

    async def _load(self, request: SyncRequest) -> tuple[VideoSource, list[Camera]]:
        async with self.database.session() as session:
            sources = SourceRepository(session)
            source = await sources.get(request.source_id)
            if source is None:
                raise NotFoundError(f"source {request.source_id} not found")
            cameras = [
                c
                for c in await sources.cameras(source.id)
                if c.is_active
                and c.channel is not None
                and (request.camera_ids is None or c.id in request.camera_ids)
            ]
        return source, cameras

    async def run(self, request: SyncRequest, report: ProgressCallback | None = None) -> SyncOutcome:
        source, cameras = await self._load(request)
        password = self.password_of(source)
        outcome = SyncOutcome(source.id, request.start, request.end, cameras=len(cameras))
        progress = SyncProgress()
        await self.archive.ensure_room(0)
        await self.archive.cleanup(source, cameras)  # what a killed run left behind
        gate = asyncio.Semaphore(self.options.device_concurrency)

        wanted: list[Wanted] = []
        for camera in cameras:
            found = await self._search(source, password, camera, request, gate)
            wanted.extend(found)
            outcome.recordings_found += len(found)
        by_id = {camera.id: camera for camera in cameras}
        chunks = await self._plan(wanted, [c.id for c in cameras], (request.start, request.end))
        outcome.chunks_planned = len(chunks)
        progress.segments_total = len(chunks)
        progress.media_seconds_total = sum(chunk.seconds for chunk in chunks)
        if report is not None:
            await report(progress)

        async def one(chunk: Chunk) -> None:
            async with gate:
                await self._fetch(source, password, by_id[chunk.camera_id], chunk, outcome, progress, report)

        # Chunk failures a device explains are counted in _fetch; what reaches here stops the run: a refused
        # password, a full disk, a cancellation, a bug. The others finish first, so their rows are right.
        results = await asyncio.gather(*(one(chunk) for chunk in chunks), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise next((e for e in errors if isinstance(e, SyncAuthError)), errors[0])
        outcome.retention_deleted = await self.apply_retention(cameras)
        return outcome

    async def _search(
        self,
        source: VideoSource,
        password: str | None,
        camera: Camera,
        request: SyncRequest,
        gate: asyncio.Semaphore,
    ) -> list[Wanted]:
        async def call() -> list[Wanted]:
            async with gate:
                return await self.searcher(source, password, camera, request.start, request.end)

        try:
            found = await with_retries(call, self.options.retry, f"search {camera.name}")
        except DeviceError as error:
            if error.kind == "auth":
                raise SyncAuthError(error.message) from None
            raise
        async with self.database.transaction() as session:
            await SyncRepository(session).upsert_recordings(
                source.id,
                camera.id,
                [
                    Recording(
                        remote_id=w.remote_id,
                        start_at=w.start,
                        end_at=w.end,
                        size_bytes=w.size_bytes,
                        kind=w.kind,
                        url=w.url,
                        container=w.container,
                    )
                    for w in found
                ],
            )
        return found

    async def _plan(
        self, wanted: list[Wanted], camera_ids: list[str], window: tuple[datetime, datetime]
    ) -> list[Chunk]:
        async with self.database.session() as session:
            done = await SyncRepository(session).files(camera_ids)
        have = [(f.camera_id, (f.range_start, f.range_end)) for f in done]
        have_remote = [(f.camera_id, f.remote_id) for f in done]
        return plan_chunks(
            wanted, have, have_remote, window, chunk=self.options.chunk, zone=self.options.zone
        )

    async def _start_row(self, source: VideoSource, chunk: Chunk, final: Path) -> str:
        async with self.database.transaction() as session:
            repo = SyncRepository(session)
            row = await repo.file_at(chunk.camera_id, chunk.start)
            if row is None:
                row = DownloadedFile(
                    source_id=source.id, camera_id=chunk.camera_id, range_start=chunk.start, attempts=0
                )
                session.add(row)
            row.remote_id = chunk.segment.remote_id
            row.range_end = chunk.end
            row.path = self.archive.relative(final)
            row.state = "downloading"
            row.attempts += 1
            row.error = None
            await session.flush()
            return row.id

    async def _finish_row(self, row_id: str, **values: object) -> None:
        async with self.database.transaction() as session:
            row = await session.get(DownloadedFile, row_id)
            if row is not None:
                for key, value in values.items():
                    setattr(row, key, value)

    async def _fetch(
        self,
        source: VideoSource,
        password: str | None,
        camera: Camera,
        chunk: Chunk,
        outcome: SyncOutcome,
        progress: SyncProgress,
        report: ProgressCallback | None,
    ) -> None:
        final = self.archive.final_path(source, camera, chunk)
        row_id = await self._start_row(source, chunk, final)
        seen_bytes = 0
        seen_seconds = 0.0

        async def on_progress(size: int, media_seconds: float) -> None:
            nonlocal seen_bytes, seen_seconds
            progress.bytes_done += size - seen_bytes
            progress.media_seconds_done += media_seconds - seen_seconds
            seen_bytes, seen_seconds = size, media_seconds
            if report is not None:
                await report(progress)

        async def attempt() -> tuple[Fetched, str]:
            nonlocal seen_bytes, seen_seconds
            await self.archive.ensure_room(int(chunk.seconds * self.options.bytes_per_second_estimate))
            part = await self.archive.part_path(final)
            try:
                fetched = await self.fetcher(source, password, camera, chunk, part, on_progress)
                return fetched, await self.archive.commit(part, final)
            except BaseException:
                await self.archive.discard(part)
                # What the failed attempt counted is fetched again.
                progress.bytes_done -= seen_bytes
                progress.media_seconds_done -= seen_seconds
                seen_bytes, seen_seconds = 0, 0.0
                raise

        try:
            fetched, sha256 = await with_retries(
                attempt, self.options.retry, f"fetch {camera.name} {chunk.start:%H:%M:%S}"
            )
        except DeviceError as error:
            await self._finish_row(row_id, state="failed", error=error.message[:1000])
            if error.kind == "auth":
                raise SyncAuthError(error.message) from None
            outcome.chunks_failed += 1
            progress.segments_failed += 1
            outcome.errors.append(f"{camera.name} {chunk.start.isoformat()}: {error.message}")
            log.warning("sync %s: %s %s failed: %s", source.name, camera.name, chunk.start, error.message)
            return
        await self._finish_row(
            row_id,
            state="done",
            size_bytes=fetched.size_bytes,
            sha256=sha256,
            duration_seconds=fetched.duration_seconds,
            finished_at=utcnow(),
        )
        progress.bytes_done += fetched.size_bytes - seen_bytes
        progress.media_seconds_done += chunk.seconds - seen_seconds
        progress.segments_done += 1
        outcome.chunks_done += 1
        outcome.bytes_done += fetched.size_bytes
        outcome.media_seconds += fetched.duration_seconds
        if report is not None:
            await report(progress)

    async def apply_retention(self, cameras: list[Camera]) -> int:
        """Each camera's archive trimmed to its limits; the rows of deleted files become `deleted`."""
        deleted = 0
        for camera in cameras:
            async with self.database.transaction() as session:
                files = list(await SyncRepository(session).files([camera.id]))
                removed = set(await self.archive.apply_retention(camera, files))
                for row in files:
                    if row.id in removed:
                        row.state = "deleted"
                deleted += len(removed)
        return deleted

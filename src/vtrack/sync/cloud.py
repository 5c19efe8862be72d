"""One sync run of a cloud source: follow the provider's change feed and bring new files into the archive.

Same guarantees as the device engine (sync/engine.py), different shape of work: a cloud source has
files, not recorded time, so the unit is a file and the index is `cloud_files` (one row per provider id).
Per page of changes, a batch of `BATCH` files at a time:
1. each file is decided from the index: unchanged (skip), moved or renamed (move the archived file),
   an identical copy of a file already archived (same provider hash and size: link it, no download),
   or new/changed (download);
2. downloads run `concurrency` at a time (the connector's declared limit; large files and clips side by
   side, sync/slots.py), each resumable, each written `downloading` before its first byte and `done`
   after its atomic commit (one filesystem sync and one UPDATE per batch);
3. the cursor is saved only after the page is settled, so a killed run repeats at most the two pages
   in flight, and a file that failed stays in the index as `failed`, retried at the start of every later
   run (the cursor has moved past it).
The work is a pipeline, not a series of pages: a batch's downloads start while the next batch is
planned, and the next page is listed while this one downloads, so the provider is never left idle
while the index is written, the disk flushed or a listing awaited (at most two pages in flight).
Transient failures (throttling the connector could not wait out, 5xx, a cut connection) are retried
with backoff; a refused credential stops the run (SyncAuthError); a full disk pauses it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TypeVar

from sqlalchemy import insert, update

from vtrack.archive.atomic import sync_filesystem
from vtrack.archive.disk import DiskGuard
from vtrack.archive.layout import ArchiveLayout
from vtrack.db.models import CloudFile, SyncStatus, VideoSource
from vtrack.db.repositories.cloud import CloudRepository
from vtrack.db.repositories.sources import SourceRepository
from vtrack.db.repositories.sync import SyncRepository
from vtrack.db.session import Database
from vtrack.db.types import new_id, utcnow
from vtrack.devices.errors import DeviceError
from vtrack.errors import NotFoundError
from vtrack.sources.base import Connector, RemoteFile
from vtrack.sync.cloud_transfer import ArchivePaths, download, link_copy, move, resume_offset
from vtrack.sync.engine import ProgressCallback, SyncAuthError, SyncOutcome, SyncRequest
from vtrack.sync.progress import SyncProgress
from vtrack.sync.retry import RetryPolicy, with_retries
from vtrack.sync.slots import DownloadSlots

log = logging.getLogger(__name__)

T = TypeVar("T")
BATCH = 100  # files planned, made durable and recorded together
ConnectorFactory = Callable[[VideoSource], Awaitable[Connector]]


@dataclass(frozen=True)
class CloudOptions:
    concurrency: int = 8
    page_size: int = 1000
    retry: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass
class _Plan:
    # file, row id, final path, bytes a `.part` already holds
    download: list[tuple[RemoteFile, str, Path, int]] = field(default_factory=list)
    moved: int = 0
    linked: int = 0


def _remote(row: CloudFile) -> RemoteFile:
    return RemoteFile(
        row.remote_id, row.remote_path, row.size_bytes, row.modified_at, row.content_hash, row.content_type
    )


def _raise_first(results: Sequence[object]) -> None:
    """After all of them ended: the first failure, an auth failure before any other (it stops the run)."""
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        raise next((e for e in errors if isinstance(e, SyncAuthError)), errors[0])


async def _finish(tasks: list[asyncio.Task[None]]) -> None:
    _raise_first(await asyncio.gather(*tasks, return_exceptions=True))


async def _wind_down(tasks: list[asyncio.Task[None]], error: BaseException) -> None:
    """After `error`, downloads already going finish and are recorded (a later run need not fetch them
    again), unless the run itself was cancelled."""
    if isinstance(error, asyncio.CancelledError):
        for task in tasks:
            task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _same_version(row: CloudFile, file: RemoteFile) -> bool:
    if row.size_bytes != file.size:
        return False
    if row.content_hash and file.content_hash:
        return row.content_hash == file.content_hash
    return row.modified_at == file.modified


class CloudSyncEngine:
    def __init__(
        self,
        database: Database,
        connector_for: ConnectorFactory,
        layout: ArchiveLayout,
        guard: DiskGuard,
        options: CloudOptions,
    ) -> None:
        self.database = database
        self.connector_for = connector_for
        self.layout = layout
        self.guard = guard
        self.options = options

    async def run(self, request: SyncRequest, report: ProgressCallback | None = None) -> SyncOutcome:
        async with self.database.session() as session:
            source = await SourceRepository(session).get(request.source_id)
            if source is None:
                raise NotFoundError(f"source {request.source_id} not found")
            status = await session.get(SyncStatus, source.id)  # read only: the run's job made it
            cursor = status.cursor if status is not None else None
            retry_rows = list(await CloudRepository(session).unfinished(source.id))
        await self.guard.ensure_room(0)
        outcome = SyncOutcome(source.id, request.start, request.end)
        progress = SyncProgress()
        connector = await self.connector_for(source)
        try:
            run = _Run(self, source, connector, outcome, progress, report)
            await run.settle([_remote(row) for row in retry_rows])
            await run.follow(cursor)
        finally:
            await connector.close()
        return outcome


class _Run:
    """The state of one run, so the per-file steps need not pass eight arguments around."""

    def __init__(
        self,
        engine: CloudSyncEngine,
        source: VideoSource,
        connector: Connector,
        outcome: SyncOutcome,
        progress: SyncProgress,
        report: ProgressCallback | None,
    ) -> None:
        self.engine = engine
        self.source = source
        self.connector = connector
        self.outcome = outcome
        self.progress = progress
        self.report = report
        self.paths = ArchivePaths(engine.layout, source.name)
        self.slots = DownloadSlots(min(engine.options.concurrency, connector.rate_limit.concurrent_downloads))

    async def retried(self, call: Callable[[], Awaitable[T]], what: str) -> T:
        try:
            return await with_retries(call, self.engine.options.retry, f"{self.source.name}: {what}")
        except DeviceError as error:
            if error.kind == "auth":
                raise SyncAuthError(error.message) from None
            raise

    async def follow(self, cursor: str | None) -> None:
        """The change feed from `cursor` to its end, listing each page while the one before downloads."""
        previous: list[asyncio.Task[None]] = []
        current: list[asyncio.Task[None]] = []
        first = True
        try:
            while True:
                page = await self.retried(
                    partial(self.connector.changes, cursor, self.engine.options.page_size), "list"
                )
                current = await self.start(page.files)
                await _finish(previous)
                if not first:  # the page before is settled: a later run starts after it
                    await self._save_cursor(cursor)
                first, cursor, previous, current = False, page.cursor, current, []
                if not page.has_more:
                    break
            await _finish(previous)
            await self._save_cursor(cursor)
        except BaseException as error:
            await _wind_down(previous + current, error)
            raise

    async def _save_cursor(self, cursor: str | None) -> None:
        async with self.engine.database.transaction() as session:
            (await SyncRepository(session).status(self.source.id)).cursor = cursor

    async def settle(self, files: list[RemoteFile]) -> None:
        await _finish(await self.start(files))

    async def start(self, files: list[RemoteFile]) -> list[asyncio.Task[None]]:
        """Plan `files` a batch at a time; each batch downloads while the next is planned."""
        tasks: list[asyncio.Task[None]] = []
        try:
            for at in range(0, len(files), BATCH):
                batch = files[at : at + BATCH]
                plan = await self._plan(batch)
                self.outcome.recordings_found += len(batch)
                self.outcome.chunks_planned += len(plan.download)
                self.progress.segments_total += len(plan.download)
                self.progress.bytes_total += sum(item[0].size for item in plan.download)
                if self.report is not None:
                    await self.report(self.progress)
                if plan.download:
                    tasks.append(asyncio.create_task(self._complete(plan)))
        except BaseException as error:
            await _wind_down(tasks, error)
            raise
        return tasks

    async def _complete(self, plan: _Plan) -> None:
        """Download a batch, make it durable with one filesystem sync, then record it in one UPDATE."""
        finished: list[dict[str, object]] = []

        async def one(file: RemoteFile, row_id: str, final: Path, offset: int) -> None:
            async with self.slots.slot(file.size):
                finished.append({"id": row_id, **await self._fetch(file, final, offset)})

        results = await asyncio.gather(*(one(*item) for item in plan.download), return_exceptions=True)
        if finished:
            # One flush makes the batch's files durable before any row says `done` (not two fsyncs a file).
            await asyncio.to_thread(sync_filesystem, self.engine.layout.root)
        for state in ("done", "failed"):  # one executemany per shape of row, for the whole batch
            rows = [values for values in finished if values["state"] == state]
            if rows:
                async with self.engine.database.transaction() as session:
                    await session.execute(update(CloudFile), rows)
        _raise_first(results)

    async def _plan(self, files: list[RemoteFile]) -> _Plan:
        plan = _Plan()
        layout = self.engine.layout
        files = list({file.id: file for file in files}.values())  # a file listed twice: its last entry
        fetch: list[tuple[RemoteFile, str, Path]] = []
        new_rows: list[dict[str, object]] = []  # one INSERT: the ORM's flush a row was 7 % of a sync's CPU
        async with self.engine.database.transaction() as session:
            repo = CloudRepository(session)
            known = await repo.files_by_remote(self.source.id, [f.id for f in files])
            copies = await repo.archived_by_hash(self.source.id, {f.content_hash or "" for f in files})
            for file in files:
                final = self.paths.final(file.path)
                relative = self.paths.relative(final)
                row = known.get(file.id)
                if row is not None and row.state == "done" and row.path and _same_version(row, file):
                    if row.path != relative:
                        await asyncio.to_thread(move, layout.resolve(row.path), final)
                        row.path, row.remote_path = relative, file.path
                        plan.moved += 1
                    continue
                values: dict[str, object] = {
                    "remote_path": file.path,
                    "size_bytes": file.size,
                    "modified_at": file.modified,
                    "content_hash": file.content_hash,
                    "content_type": file.content_type,
                    "path": relative,
                    "error": None,
                    "state": "downloading",
                }
                copy = copies.get(file.content_hash or "")
                linked = False
                if copy is not None and copy.path and copy.size_bytes == file.size and copy is not row:
                    await asyncio.to_thread(link_copy, layout.resolve(copy.path), final)
                    values.update(state="done", sha256=copy.sha256, finished_at=utcnow())
                    plan.linked += 1
                    linked = True
                if row is None:
                    row_id = new_id()
                    new_rows.append(
                        {"id": row_id, "source_id": self.source.id, "remote_id": file.id, **values}
                        | {"attempts": 0 if linked else 1}
                    )
                else:
                    for name, value in values.items():
                        setattr(row, name, value)
                    row.attempts += 0 if linked else 1
                    row_id = row.id
                if not linked:
                    fetch.append((file, row_id, final))
            if new_rows:
                await session.execute(insert(CloudFile), new_rows)
            # One worker-thread call looks for left `.part`s of the whole batch, not one call a file.
            offsets = await asyncio.to_thread(lambda: [resume_offset(f, file.size) for file, _, f in fetch])
            plan.download = [
                (file, row_id, final, at) for (file, row_id, final), at in zip(fetch, offsets, strict=True)
            ]
            if plan.moved or plan.linked:  # durable before the transaction records them
                await asyncio.to_thread(sync_filesystem, layout.root)
        return plan

    async def _fetch(self, file: RemoteFile, final: Path, offset: int) -> dict[str, object]:
        seen = 0
        resume_at: int | None = offset

        async def on_progress(received: int) -> None:
            nonlocal seen
            self.progress.bytes_done += received - seen
            seen = received
            if self.report is not None:
                await self.report(self.progress)

        async def attempt() -> dict[str, object]:
            nonlocal resume_at
            start, resume_at = resume_at, None  # a retry looks at the `.part` again
            await self.engine.guard.ensure_room(file.size)
            done = await download(self.connector, file, final, on_progress, start)
            return {
                "state": "done",
                "sha256": done.sha256,
                "size_bytes": done.size_bytes,
                "finished_at": utcnow(),
            }

        try:
            values = await self.retried(attempt, f"fetch {file.path}")
        except SyncAuthError:
            raise
        except DeviceError as error:
            self.outcome.chunks_failed += 1
            self.progress.segments_failed += 1
            self.outcome.errors.append(f"{file.path}: {error.message}")
            log.warning("sync %s: %s failed: %s", self.source.name, file.path, error.message)
            return {"state": "failed", "error": error.message[:1000]}
        self.outcome.chunks_done += 1
        self.outcome.bytes_done += file.size
        self.progress.segments_done += 1
        if self.report is not None:
            await self.report(self.progress)
        return values

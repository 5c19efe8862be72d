"""One sync run of a cloud source: follow the provider's change feed and bring new files into the archive.

Same guarantees as the device engine (sync/engine.py), different shape of work: a cloud source has
files, not recorded time, so the unit is a file and the index is `cloud_files` (one row per provider id).
Per page of changes:
1. each file is decided from the index: unchanged (skip), moved or renamed (move the archived file),
   an identical copy of a file already archived (same provider hash and size: link it, no download),
   or new/changed (download);
2. downloads run `concurrency` at a time (the connector's declared limit), each resumable, each written
   `downloading` before its first byte and `done` after its atomic commit;
3. the cursor is saved only after the page is settled, so a killed run repeats at most one page, and a
   file that failed stays in the index as `failed`, retried at the start of every later run (the cursor
   has moved past it).
Transient failures (throttling the connector could not wait out, 5xx, a cut connection) are retried
with backoff; a refused credential stops the run (SyncAuthError); a full disk pauses it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TypeVar

from sqlalchemy import update

from vtrack.archive.atomic import sync_filesystem
from vtrack.archive.disk import DiskGuard
from vtrack.archive.layout import ArchiveLayout
from vtrack.db.models import CloudFile, SyncStatus, VideoSource
from vtrack.db.repositories.cloud import CloudRepository
from vtrack.db.repositories.sources import SourceRepository
from vtrack.db.repositories.sync import SyncRepository
from vtrack.db.session import Database
from vtrack.db.types import utcnow
from vtrack.devices.errors import DeviceError
from vtrack.errors import NotFoundError
from vtrack.sources.base import Connector, RemoteFile
from vtrack.sync.cloud_transfer import ArchivePaths, download, link_copy, move
from vtrack.sync.engine import ProgressCallback, SyncAuthError, SyncOutcome, SyncRequest
from vtrack.sync.progress import SyncProgress
from vtrack.sync.retry import RetryPolicy, with_retries

log = logging.getLogger(__name__)

T = TypeVar("T")
ConnectorFactory = Callable[[VideoSource], Awaitable[Connector]]


@dataclass(frozen=True)
class CloudOptions:
    concurrency: int = 8
    page_size: int = 1000
    retry: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass
class _Plan:
    download: list[tuple[RemoteFile, str, Path]] = field(default_factory=list)  # file, row id, final path
    moved: int = 0
    linked: int = 0


def _remote(row: CloudFile) -> RemoteFile:
    return RemoteFile(
        row.remote_id, row.remote_path, row.size_bytes, row.modified_at, row.content_hash, row.content_type
    )


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
            while True:
                page = await run.retried(partial(connector.changes, cursor, self.options.page_size), "list")
                await run.settle(page.files)
                cursor = page.cursor
                async with self.database.transaction() as session:
                    (await SyncRepository(session).status(source.id)).cursor = cursor
                if not page.has_more:
                    break
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
        limit = min(engine.options.concurrency, connector.rate_limit.concurrent_downloads)
        self.gate = asyncio.Semaphore(max(1, limit))

    async def retried(self, call: Callable[[], Awaitable[T]], what: str) -> T:
        try:
            return await with_retries(call, self.engine.options.retry, f"{self.source.name}: {what}")
        except DeviceError as error:
            if error.kind == "auth":
                raise SyncAuthError(error.message) from None
            raise

    async def settle(self, files: list[RemoteFile]) -> None:
        if not files:
            return
        plan = await self._plan(files)
        self.outcome.recordings_found += len(files)
        self.outcome.chunks_planned += len(plan.download)
        self.progress.segments_total += len(plan.download)
        self.progress.bytes_total += sum(file.size for file, _row, _final in plan.download)
        if self.report is not None:
            await self.report(self.progress)
        finished: list[dict[str, object]] = []

        async def one(file: RemoteFile, row_id: str, final: Path) -> None:
            async with self.gate:
                finished.append({"id": row_id, **await self._fetch(file, final)})

        results = await asyncio.gather(*(one(*item) for item in plan.download), return_exceptions=True)
        if finished:
            # One flush makes the page's files durable before any row says `done` (not two fsyncs a file).
            await asyncio.to_thread(sync_filesystem, self.engine.layout.root)
        for state in ("done", "failed"):  # one executemany per shape of row, for the whole page
            rows = [values for values in finished if values["state"] == state]
            if rows:
                async with self.engine.database.transaction() as session:
                    await session.execute(update(CloudFile), rows)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise next((e for e in errors if isinstance(e, SyncAuthError)), errors[0])

    async def _plan(self, files: list[RemoteFile]) -> _Plan:
        plan = _Plan()
        layout = self.engine.layout
        fetch: list[tuple[RemoteFile, CloudFile, Path]] = []
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
                if row is None:
                    row = CloudFile(source_id=self.source.id, remote_id=file.id, attempts=0)
                    session.add(row)
                    known[file.id] = row
                row.remote_path, row.size_bytes, row.modified_at = file.path, file.size, file.modified
                row.content_hash, row.content_type, row.path = file.content_hash, file.content_type, relative
                row.error = None
                copy = copies.get(file.content_hash or "")
                if copy is not None and copy.path and copy.size_bytes == file.size and copy is not row:
                    await asyncio.to_thread(link_copy, layout.resolve(copy.path), final)
                    row.state, row.sha256, row.finished_at = "done", copy.sha256, utcnow()
                    plan.linked += 1
                    continue
                row.state = "downloading"
                row.attempts += 1
                fetch.append((file, row, final))
            await session.flush()  # one INSERT batch for the page; the rows get their ids
            plan.download = [(file, row.id, final) for file, row, final in fetch]
            if plan.moved or plan.linked:  # durable before the transaction records them
                await asyncio.to_thread(sync_filesystem, layout.root)
        return plan

    async def _fetch(self, file: RemoteFile, final: Path) -> dict[str, object]:
        seen = 0

        async def on_progress(received: int) -> None:
            nonlocal seen
            self.progress.bytes_done += received - seen
            seen = received
            if self.report is not None:
                await self.report(self.progress)

        async def attempt() -> dict[str, object]:
            await self.engine.guard.ensure_room(file.size)
            done = await download(self.connector, file, final, on_progress)
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

"""Recording index, archive index (downloaded_files) and sync status queries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from vtrack.db.models import Camera, DownloadedFile, Recording, SyncStatus
from vtrack.db.types import utcnow


class SyncRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def status(self, source_id: str, interval_seconds: int = 600) -> SyncStatus:
        """The source's sync status, created (enabled, idle, this interval) on first use."""
        status = await self.session.get(SyncStatus, source_id)
        if status is not None:
            return status
        status = SyncStatus(
            source_id=source_id, enabled=True, interval_seconds=interval_seconds, state="idle"
        )
        try:
            async with self.session.begin_nested():  # a savepoint: losing the race keeps the transaction
                self.session.add(status)
        except IntegrityError:
            # A request and the sync job it started both asked first; the other one's row won.
            won = await self.session.get(SyncStatus, source_id, populate_existing=True)
            if won is None:
                raise
            return won
        return status

    async def due(self, now: datetime) -> Sequence[SyncStatus]:
        query = select(SyncStatus).where(
            SyncStatus.enabled.is_(True),
            SyncStatus.next_run_at.is_not(None),
            SyncStatus.next_run_at <= now,
            SyncStatus.state != "running",
        )
        return (await self.session.execute(query)).scalars().all()

    async def upsert_recordings(self, source_id: str, camera_id: str, rows: Iterable[Recording]) -> int:
        existing = {
            r.remote_id: r
            for r in (
                await self.session.execute(select(Recording).where(Recording.camera_id == camera_id))
            ).scalars()
        }
        added = 0
        now = utcnow()
        for row in rows:
            known = existing.get(row.remote_id)
            if known is None:
                row.source_id, row.camera_id, row.seen_at = source_id, camera_id, now
                self.session.add(row)
                existing[row.remote_id] = row
                added += 1
            else:
                known.start_at, known.end_at, known.size_bytes = row.start_at, row.end_at, row.size_bytes
                known.url, known.container, known.seen_at = row.url, row.container, now
        await self.session.flush()
        return added

    async def files(
        self, camera_ids: Sequence[str], states: Sequence[str] = ("done",)
    ) -> Sequence[DownloadedFile]:
        query = (
            select(DownloadedFile)
            .where(DownloadedFile.camera_id.in_(camera_ids), DownloadedFile.state.in_(states))
            .order_by(DownloadedFile.range_start)
        )
        return (await self.session.execute(query)).scalars().all()

    async def file_at(self, camera_id: str, range_start: datetime) -> DownloadedFile | None:
        query = select(DownloadedFile).where(
            DownloadedFile.camera_id == camera_id, DownloadedFile.range_start == range_start
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def unfinished(self, source_id: str) -> Sequence[DownloadedFile]:
        """Rows a killed run left `downloading`: their chunk is fetched again, from scratch."""
        query = select(DownloadedFile).where(
            DownloadedFile.source_id == source_id, DownloadedFile.state == "downloading"
        )
        return (await self.session.execute(query)).scalars().all()

    async def file_counts(self, source_id: str) -> tuple[dict[str, int], int]:
        """Files of a source by state, and the bytes of the done ones."""
        rows = await self.session.execute(
            select(DownloadedFile.state, func.count(), func.coalesce(func.sum(DownloadedFile.size_bytes), 0))
            .where(DownloadedFile.source_id == source_id)
            .group_by(DownloadedFile.state)
        )
        counts: dict[str, int] = {}
        archived = 0
        for state, count, size in rows:
            counts[str(state)] = int(count)
            if state == "done":
                archived = int(size or 0)
        return counts, archived

    async def archived_cameras(self) -> Sequence[Camera]:
        """Cameras that have files in the archive."""
        has_files = select(DownloadedFile.camera_id).where(DownloadedFile.state == "done").distinct()
        return (await self.session.execute(select(Camera).where(Camera.id.in_(has_files)))).scalars().all()

"""The archive as people browse it: done files of the sources a user may see, by camera and time.

The sync repository reads `downloaded_files` the way sync needs it (by camera, oldest first, every
state); browsing wants the opposite (newest first, paged, only what is playable, only visible sources),
with the source's and camera's names alongside, so it lives here.

Two tables hold the archive: `downloaded_files` (a device's recordings, one camera, a time range) and
`cloud_files` (videos synced from a drive or a camera cloud: no camera, only the file's modified time).
People browse them as one list, so paging runs over a UNION ALL of both reduced to (kind, id, start):
one ORDER BY and one OFFSET, instead of merging two pages by hand (which cannot be paged correctly).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, String, and_, func, literal_column, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from vtrack.db.models import Camera, CloudFile, DownloadedFile, VideoSource
from vtrack.db.repositories.paging import Page

PLAYABLE = "done"

Kind = Literal["device", "cloud"]
Keys = Select[str, str, datetime]  # kind, id, start: what the listing orders and pages by


@dataclass(frozen=True)
class ArchivedFile:
    """One done file with the names it is shown under: a cloud file has no camera."""

    file: DownloadedFile | CloudFile
    source: VideoSource
    camera: Camera | None

    @property
    def kind(self) -> Kind:
        return "cloud" if isinstance(self.file, CloudFile) else "device"


@dataclass(frozen=True)
class RecordingFilter:
    source_id: str | None = None
    camera_id: str | None = None  # device files only: a camera filter leaves cloud files out
    start: datetime | None = None  # device files overlapping [start, end); cloud files modified in it
    end: datetime | None = None
    day_start: datetime | None = None  # files starting in [day_start, day_end): filed under that day
    day_end: datetime | None = None


def local_day(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """A calendar day in `zone` as a UTC [start, end): 23 or 25 hours long where the zone has DST.

    Raises OverflowError for the first and last days datetime can hold (their UTC form does not exist).
    """
    start = datetime.combine(day, time(), zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC)
    return start, end


def _visible_source(visible_to: str | None) -> ColumnElement[bool] | None:
    """`visible_to`: a non-admin's user id (shared device sources and their own cloud ones)."""
    if visible_to is None:
        return None
    return or_(VideoSource.owner_id.is_(None), VideoSource.owner_id == visible_to)


def _device_files(visible_to: str | None) -> Select[DownloadedFile]:
    query = (
        select(DownloadedFile)
        .join(VideoSource, VideoSource.id == DownloadedFile.source_id)
        .where(DownloadedFile.state == PLAYABLE)
    )
    visible = _visible_source(visible_to)
    return query if visible is None else query.where(visible)


def _cloud_files(visible_to: str | None) -> Select[CloudFile]:
    """Done and archived: a done row without a path (never expected) would have nothing to play."""
    query = (
        select(CloudFile)
        .join(VideoSource, VideoSource.id == CloudFile.source_id)
        .where(CloudFile.state == PLAYABLE, CloudFile.path.is_not(None))
    )
    visible = _visible_source(visible_to)
    return query if visible is None else query.where(visible)


class RecordingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _device_keys(self, where: RecordingFilter, visible_to: str | None) -> Keys:
        query = _device_files(visible_to).with_only_columns(
            literal_column("'device'", String).label("kind"),
            DownloadedFile.id.label("id"),
            DownloadedFile.range_start.label("start_at"),
        )
        if where.source_id is not None:
            query = query.where(DownloadedFile.source_id == where.source_id)
        if where.camera_id is not None:
            query = query.where(DownloadedFile.camera_id == where.camera_id)
        if where.start is not None:
            query = query.where(DownloadedFile.range_end > where.start)
        if where.end is not None:
            query = query.where(DownloadedFile.range_start < where.end)
        if where.day_start is not None:
            query = query.where(DownloadedFile.range_start >= where.day_start)
        if where.day_end is not None:
            query = query.where(DownloadedFile.range_start < where.day_end)
        return query

    def _cloud_keys(self, where: RecordingFilter, visible_to: str | None) -> Keys:
        """A cloud file is an instant (its modified time), so a range keeps it when that instant is inside."""
        query = _cloud_files(visible_to).with_only_columns(
            literal_column("'cloud'", String).label("kind"),
            CloudFile.id.label("id"),
            CloudFile.modified_at.label("start_at"),
        )
        if where.source_id is not None:
            query = query.where(CloudFile.source_id == where.source_id)
        for lower in (where.start, where.day_start):
            if lower is not None:
                query = query.where(CloudFile.modified_at >= lower)
        for upper in (where.end, where.day_end):
            if upper is not None:
                query = query.where(CloudFile.modified_at < upper)
        return query

    async def search(
        self, page: int, page_size: int, where: RecordingFilter, visible_to: str | None
    ) -> Page[ArchivedFile]:
        branches = [self._device_keys(where, visible_to)]
        if where.camera_id is None:
            branches.append(self._cloud_keys(where, visible_to))
        keys = (
            union_all(*branches).subquery("archive") if len(branches) > 1 else branches[0].subquery("archive")
        )
        total = (await self.session.execute(select(func.count()).select_from(keys))).scalar_one()
        ordered = (
            select(keys.c.kind, keys.c.id)
            .order_by(keys.c.start_at.desc(), keys.c.id)
            .limit(page_size)
            .offset((page - 1) * page_size)
        )
        rows = [(str(kind), str(file_id)) for kind, file_id in (await self.session.execute(ordered)).all()]
        items = await self._load(rows)
        return Page(items=items, page=page, page_size=page_size, total=total)

    async def get(self, file_id: str, visible_to: str | None) -> ArchivedFile | None:
        """Ids are UUIDs in both tables, so one id names at most one file whichever table holds it."""
        device = (
            await self.session.execute(_device_files(visible_to).where(DownloadedFile.id == file_id))
        ).scalar_one_or_none()
        if device is not None:
            named = await self._named([device])
        else:
            cloud = (
                await self.session.execute(_cloud_files(visible_to).where(CloudFile.id == file_id))
            ).scalar_one_or_none()
            named = await self._named([cloud]) if cloud is not None else []
        return named[0] if named else None

    async def neighbours(self, file: DownloadedFile | CloudFile) -> tuple[str | None, str | None]:
        """The ids of the files just before and just after this one: the same camera's for a device
        file, the same source's by modified time for a cloud file (it has no camera)."""
        if isinstance(file, CloudFile):
            return await self._cloud_neighbours(file)
        same_camera = select(DownloadedFile.id).where(
            DownloadedFile.camera_id == file.camera_id,
            DownloadedFile.state == PLAYABLE,
            DownloadedFile.id != file.id,
        )
        before = same_camera.where(DownloadedFile.range_start < file.range_start).order_by(
            DownloadedFile.range_start.desc()
        )
        after = same_camera.where(DownloadedFile.range_start > file.range_start).order_by(
            DownloadedFile.range_start
        )
        previous = (await self.session.execute(before.limit(1))).scalar_one_or_none()
        following = (await self.session.execute(after.limit(1))).scalar_one_or_none()
        return previous, following

    async def _cloud_neighbours(self, file: CloudFile) -> tuple[str | None, str | None]:
        """Ordered by (modified_at, id): files saved in the same second (a batch upload) still step."""
        same_source = select(CloudFile.id).where(
            CloudFile.source_id == file.source_id,
            CloudFile.state == PLAYABLE,
            CloudFile.path.is_not(None),
            CloudFile.id != file.id,
        )
        at = file.modified_at
        before = same_source.where(
            or_(CloudFile.modified_at < at, and_(CloudFile.modified_at == at, CloudFile.id < file.id))
        ).order_by(CloudFile.modified_at.desc(), CloudFile.id.desc())
        after = same_source.where(
            or_(CloudFile.modified_at > at, and_(CloudFile.modified_at == at, CloudFile.id > file.id))
        ).order_by(CloudFile.modified_at, CloudFile.id)
        previous = (await self.session.execute(before.limit(1))).scalar_one_or_none()
        following = (await self.session.execute(after.limit(1))).scalar_one_or_none()
        return previous, following

    async def _load(self, keys: list[tuple[str, str]]) -> list[ArchivedFile]:
        """The page's rows, in the page's order, from whichever table each key names."""
        device_ids = [file_id for kind, file_id in keys if kind == "device"]
        cloud_ids = [file_id for kind, file_id in keys if kind == "cloud"]
        files: list[DownloadedFile | CloudFile] = []
        if device_ids:
            query = select(DownloadedFile).where(DownloadedFile.id.in_(device_ids))
            files.extend((await self.session.execute(query)).scalars())
        if cloud_ids:
            files.extend(
                (await self.session.execute(select(CloudFile).where(CloudFile.id.in_(cloud_ids)))).scalars()
            )
        by_id = {item.file.id: item for item in await self._named(files)}
        return [by_id[file_id] for _, file_id in keys if file_id in by_id]

    async def _named(self, files: list[DownloadedFile | CloudFile]) -> list[ArchivedFile]:
        if not files:
            return []
        source_ids = {f.source_id for f in files}
        camera_ids = {f.camera_id for f in files if isinstance(f, DownloadedFile)}
        sources = {
            s.id: s
            for s in (
                await self.session.execute(select(VideoSource).where(VideoSource.id.in_(source_ids)))
            ).scalars()
        }
        cameras: dict[str, Camera] = {}
        if camera_ids:
            query = select(Camera).where(Camera.id.in_(camera_ids))
            cameras = {c.id: c for c in (await self.session.execute(query)).scalars()}
        named: list[ArchivedFile] = []
        for f in files:
            if f.source_id not in sources:
                continue
            if isinstance(f, CloudFile):
                named.append(ArchivedFile(f, sources[f.source_id], None))
            elif f.camera_id in cameras:
                named.append(ArchivedFile(f, sources[f.source_id], cameras[f.camera_id]))
        return named

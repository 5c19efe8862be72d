"""Camera snapshot queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from vtrack.db.models import Camera, CameraSnapshot


class SnapshotRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, snapshot_id: str) -> CameraSnapshot | None:
        return await self.session.get(CameraSnapshot, snapshot_id)

    async def recent(self, camera_id: str, limit: int) -> Sequence[CameraSnapshot]:
        query = (
            select(CameraSnapshot)
            .where(CameraSnapshot.camera_id == camera_id)
            .order_by(CameraSnapshot.captured_at.desc())
            .limit(limit)
        )
        return (await self.session.execute(query)).scalars().all()

    async def latest_of(self, camera_ids: Sequence[str]) -> dict[str, CameraSnapshot]:
        """Each camera's newest snapshot, in one query (the dashboard's grid asks for every camera)."""
        if not camera_ids:
            return {}
        newest = (
            select(CameraSnapshot.camera_id, func.max(CameraSnapshot.captured_at).label("at"))
            .where(CameraSnapshot.camera_id.in_(camera_ids))
            .group_by(CameraSnapshot.camera_id)
            .subquery()
        )
        query = select(CameraSnapshot).join(
            newest,
            (CameraSnapshot.camera_id == newest.c.camera_id) & (CameraSnapshot.captured_at == newest.c.at),
        )
        return {row.camera_id: row for row in (await self.session.scalars(query)).all()}

    async def stale_cameras(self, newer_than: datetime, limit: int) -> list[str]:
        """Active cameras that are not known to be offline and have no snapshot taken after `newer_than`,
        those never pictured first."""
        fresh = exists().where(CameraSnapshot.camera_id == Camera.id, CameraSnapshot.captured_at > newer_than)
        pictured = exists().where(CameraSnapshot.camera_id == Camera.id)
        query = (
            select(Camera.id)
            .where(Camera.is_active.is_(True), Camera.status != "offline", ~fresh)
            .order_by(pictured, Camera.name)
            .limit(limit)
        )
        return list((await self.session.scalars(query)).all())

    async def expired(self, now: datetime, limit: int) -> Sequence[CameraSnapshot]:
        query = (
            select(CameraSnapshot)
            .where(CameraSnapshot.expires_at.is_not(None), CameraSnapshot.expires_at <= now)
            .order_by(CameraSnapshot.expires_at)
            .limit(limit)
        )
        return (await self.session.execute(query)).scalars().all()

    async def keys_of_cameras(self, camera_ids: Sequence[str]) -> list[str]:
        rows = await self.session.execute(
            select(CameraSnapshot.storage_path, CameraSnapshot.thumbnail_path).where(
                CameraSnapshot.camera_id.in_(camera_ids)
            )
        )
        return [key for row in rows for key in row if key]

    async def delete_ids(self, ids: Sequence[str]) -> None:
        await self.session.execute(delete(CameraSnapshot).where(CameraSnapshot.id.in_(ids)))

"""Camera snapshot queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from vtrack.db.models import CameraSnapshot


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

"""Video source queries."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from vtrack.db.models import Camera, VideoSource
from vtrack.db.repositories.paging import Page, paginate


class SourceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, source_id: str) -> VideoSource | None:
        return await self.session.get(VideoSource, source_id)

    async def name_taken(self, name: str, except_id: str | None = None) -> bool:
        query = select(VideoSource.id).where(func.lower(VideoSource.name) == name.strip().lower())
        if except_id is not None:
            query = query.where(VideoSource.id != except_id)
        return (await self.session.execute(query.limit(1))).first() is not None

    async def search(
        self, page: int, page_size: int, source_type: str | None = None, visible_to: str | None = None
    ) -> Page[VideoSource]:
        """`visible_to`: a non-admin's user id; they see shared (device) sources and their own cloud ones."""
        query = select(VideoSource).order_by(VideoSource.name)
        if visible_to is not None:
            query = query.where(or_(VideoSource.owner_id.is_(None), VideoSource.owner_id == visible_to))
        if source_type is not None:
            query = query.where(VideoSource.source_type == source_type)
        return await paginate(self.session, query, page, page_size)

    async def cameras(self, source_id: str) -> Sequence[Camera]:
        query = select(Camera).where(Camera.source_id == source_id).order_by(Camera.channel, Camera.name)
        return (await self.session.execute(query)).scalars().all()

    def add(self, source: VideoSource) -> None:
        self.session.add(source)

    async def delete(self, source: VideoSource) -> None:
        await self.session.delete(source)

"""Camera and group queries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from vtrack.db.models import Camera, CameraGroup
from vtrack.db.repositories.paging import Page, paginate

CameraSort = Literal[
    "name", "-name", "created_at", "-created_at", "updated_at", "-updated_at", "status", "-status"
]


@dataclass(frozen=True)
class CameraFilter:
    group_id: str | None = None
    status: str | None = None
    active_only: bool = False
    q: str | None = None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def name_key(group_id: str | None, name: str) -> tuple[str, str]:
    """The identity the unique index enforces: group ('' for none) and the lower-cased name."""
    return (group_id or "", name.strip().lower())


class CameraRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, camera_id: str) -> Camera | None:
        return await self.session.get(Camera, camera_id)

    async def search(self, flt: CameraFilter, page: int, page_size: int, sort: CameraSort) -> Page[Camera]:
        query = select(Camera)
        if flt.group_id:
            query = query.where(Camera.group_id == flt.group_id)
        if flt.status:
            query = query.where(Camera.status == flt.status)
        if flt.active_only:
            query = query.where(Camera.is_active.is_(True))
        if flt.q:
            pattern = f"%{_escape_like(flt.q.lower())}%"
            query = query.where(
                or_(
                    func.lower(Camera.name).like(pattern, escape="\\"),
                    func.lower(Camera.location).like(pattern, escape="\\"),
                )
            )
        field = sort.lstrip("-")
        column: Any = func.lower(Camera.name) if field == "name" else getattr(Camera, field)
        query = query.order_by(column.desc() if sort.startswith("-") else column.asc(), Camera.id)
        return await paginate(self.session, query, page, page_size)

    async def all(self, group_id: str | None = None) -> Sequence[Camera]:
        query = select(Camera).order_by(func.lower(Camera.name), Camera.id)
        if group_id:
            query = query.where(Camera.group_id == group_id)
        return (await self.session.execute(query)).unique().scalars().all()

    async def name_taken(self, group_id: str | None, name: str, except_id: str | None = None) -> bool:
        query = select(Camera.id).where(
            func.coalesce(Camera.group_id, "") == (group_id or ""),
            func.lower(Camera.name) == name.strip().lower(),
        )
        if except_id:
            query = query.where(Camera.id != except_id)
        return (await self.session.execute(query.limit(1))).first() is not None

    async def existing_keys(self, group_ids: Iterable[str | None]) -> set[tuple[str, str]]:
        keys = {g or "" for g in group_ids}
        query = select(func.coalesce(Camera.group_id, ""), func.lower(Camera.name)).where(
            func.coalesce(Camera.group_id, "").in_(keys)
        )
        return {(g, n) for g, n in (await self.session.execute(query)).all()}

    async def insert_many(self, rows: list[dict[str, Any]]) -> None:
        # Core bulk insert: one executemany instead of 10,000 ORM unit-of-work flushes.
        for start in range(0, len(rows), 1000):
            await self.session.execute(insert(Camera), rows[start : start + 1000])

    async def delete(self, camera: Camera) -> None:
        await self.session.execute(delete(Camera).where(Camera.id == camera.id))

    async def summary(self) -> dict[str, Any]:
        totals = (
            await self.session.execute(
                select(
                    func.count(),
                    func.count().filter(Camera.is_active.is_(True)),
                    func.count().filter(Camera.enable_detection.is_(True)),
                )
            )
        ).one()
        by_status = dict(
            (await self.session.execute(select(Camera.status, func.count()).group_by(Camera.status))).all()
        )
        group_rows = (
            await self.session.execute(
                select(Camera.group_id, CameraGroup.name, func.count())
                .outerjoin(CameraGroup, CameraGroup.id == Camera.group_id)
                .group_by(Camera.group_id, CameraGroup.name)
            )
        ).all()
        return {
            "total": totals[0],
            "active": totals[1],
            "inactive": totals[0] - totals[1],
            "detection_enabled": totals[2],
            "by_status": {str(k): int(v) for k, v in by_status.items()},
            "by_group": [
                {"group_id": gid, "name": name, "count": int(count)} for gid, name, count in group_rows
            ],
        }


class GroupRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, group_id: str) -> CameraGroup | None:
        return await self.session.get(CameraGroup, group_id)

    async def by_name(self, name: str) -> CameraGroup | None:
        query = select(CameraGroup).where(func.lower(CameraGroup.name) == name.strip().lower())
        return (await self.session.execute(query)).scalars().first()

    async def by_names(self, names: Iterable[str]) -> dict[str, CameraGroup]:
        lowered = {n.strip().lower() for n in names}
        if not lowered:
            return {}
        query = select(CameraGroup).where(func.lower(CameraGroup.name).in_(lowered))
        return {g.name.lower(): g for g in (await self.session.execute(query)).scalars()}

    async def search(self, page: int, page_size: int, q: str | None = None) -> Page[CameraGroup]:
        query = select(CameraGroup).order_by(func.lower(CameraGroup.name), CameraGroup.id)
        if q:
            query = query.where(
                func.lower(CameraGroup.name).like(f"%{_escape_like(q.lower())}%", escape="\\")
            )
        return await paginate(self.session, query, page, page_size)

    async def camera_counts(self, group_ids: list[str]) -> dict[str, int]:
        if not group_ids:
            return {}
        query = (
            select(Camera.group_id, func.count())
            .where(Camera.group_id.in_(group_ids))
            .group_by(Camera.group_id)
        )
        return {str(g): int(c) for g, c in (await self.session.execute(query)).all()}

    async def names_colliding_when_ungrouped(self, group_id: str) -> list[str]:
        """Names in the group that an ungrouped camera already has; deleting the group would clash."""
        grouped = select(func.lower(Camera.name)).where(Camera.group_id == group_id)
        query = select(Camera.name).where(Camera.group_id.is_(None), func.lower(Camera.name).in_(grouped))
        return list((await self.session.execute(query)).scalars())

    def add(self, group: CameraGroup) -> None:
        self.session.add(group)

    async def delete(self, group: CameraGroup) -> None:
        await self.session.delete(group)

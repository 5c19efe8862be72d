"""Health queries: the cameras a round checks, batched writes of its results, history and the report.

Writes are Core executemany statements, one per table per batch, because a round over 1,000 cameras
must cost a handful of statements, not 3,000 ORM flushes. Reads for the report aggregate in SQL (window
functions for the 95th percentile work on SQLite >= 3.25 and PostgreSQL alike) and walk the
(camera_id, checked_at) index camera by camera through a join from cameras.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, bindparam, cast, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from vtrack.db.models import Camera, CameraHealth
from vtrack.db.repositories.paging import Page, paginate


@dataclass(frozen=True)
class TargetRow:
    """An active camera as a round reads it (no ORM object: 1,000 of these are read every minute)."""

    id: str
    name: str
    rtsp_url: str
    username: str | None
    password_encrypted: str | None
    fps: int | None


@dataclass(frozen=True)
class StateRow:
    id: str
    name: str
    status: str
    health_failures: int
    health_successes: int
    last_connected_at: datetime | None


@dataclass(frozen=True)
class ReportRow:
    camera_id: str
    name: str
    status: str
    last_checked_at: datetime | None
    checks: int
    connected: int
    avg_latency_ms: float | None
    p95_latency_ms: float | None
    avg_fps: float | None


class HealthRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def targets(
        self, camera_ids: Sequence[str] | None = None, active_only: bool = True
    ) -> list[TargetRow]:
        query = select(
            Camera.id, Camera.name, Camera.rtsp_url, Camera.username, Camera.password_encrypted, Camera.fps
        ).order_by(Camera.id)
        if active_only:
            query = query.where(Camera.is_active.is_(True))
        if camera_ids is not None:
            query = query.where(Camera.id.in_(camera_ids))
        return [TargetRow(*row) for row in (await self.session.execute(query)).all()]

    async def states(self, camera_ids: Sequence[str]) -> dict[str, StateRow]:
        """Current state of these cameras, locked on PostgreSQL so two workers apply results in turn."""
        query = (
            select(
                Camera.id,
                Camera.name,
                Camera.status,
                Camera.health_failures,
                Camera.health_successes,
                Camera.last_connected_at,
            )
            .where(Camera.id.in_(camera_ids))
            .order_by(Camera.id)  # one lock order for every worker: no deadlocks
            .with_for_update()
        )
        return {row[0]: StateRow(*row) for row in (await self.session.execute(query)).all()}

    async def add_samples(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(CameraHealth), list(rows))

    async def update_states(self, rows: Sequence[dict[str, Any]]) -> None:
        """One executemany UPDATE by primary key.

        Rows hold "_id", "status", "health_failures", "health_successes", "last_checked_at" and
        "last_connected_at". updated_at is kept: it says when someone edited the camera, and a check
        every minute would otherwise turn "recently updated" into "recently checked".
        """
        if not rows:
            return
        table = Camera.metadata.tables[Camera.__tablename__]
        statement = (
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values(
                status=bindparam("status"),
                health_failures=bindparam("health_failures"),
                health_successes=bindparam("health_successes"),
                last_checked_at=bindparam("last_checked_at"),
                last_connected_at=bindparam("last_connected_at"),
                updated_at=table.c.updated_at,
            )
        )
        # Through the connection: the ORM session would take a list of parameter sets for its own
        # "bulk update by primary key", which does not allow this bound WHERE clause.
        connection = await self.session.connection()
        await connection.execute(statement, list(rows))

    async def history(
        self, camera_id: str, page: int, page_size: int, since: datetime | None, until: datetime | None
    ) -> Page[CameraHealth]:
        query = (
            select(CameraHealth)
            .where(CameraHealth.camera_id == camera_id)
            .order_by(CameraHealth.checked_at.desc(), CameraHealth.id)
        )
        if since is not None:
            query = query.where(CameraHealth.checked_at >= since)
        if until is not None:
            query = query.where(CameraHealth.checked_at < until)
        return await paginate(self.session, query, page, page_size)

    async def report(self, since: datetime, group_id: str | None = None) -> list[ReportRow]:
        joined = and_(CameraHealth.camera_id == Camera.id, CameraHealth.checked_at >= since)
        active: list[ColumnElement[bool]] = [Camera.is_active.is_(True)]
        if group_id is not None:
            active.append(Camera.group_id == group_id)
        totals = (
            select(
                Camera.id,
                Camera.name,
                Camera.status,
                Camera.last_checked_at,
                func.count(CameraHealth.id),
                func.count(CameraHealth.id).filter(CameraHealth.is_connected.is_(True)),
                func.avg(CameraHealth.latency_ms),
                func.avg(CameraHealth.fps_actual),
            )
            .select_from(Camera)
            .outerjoin(CameraHealth, joined)
            .where(*active)
            .group_by(Camera.id, Camera.name, Camera.status, Camera.last_checked_at)
            .order_by(func.lower(Camera.name), Camera.id)
        )
        p95 = await self._p95_latency(joined, active)
        return [
            ReportRow(
                camera_id=row[0],
                name=row[1],
                status=row[2],
                last_checked_at=row[3],
                checks=int(row[4]),
                connected=int(row[5]),
                avg_latency_ms=float(row[6]) if row[6] is not None else None,
                p95_latency_ms=p95.get(row[0]),
                avg_fps=float(row[7]) if row[7] is not None else None,
            )
            for row in (await self.session.execute(totals)).all()
        ]

    async def _p95_latency(self, joined: Any, active: list[Any]) -> dict[str, float]:
        """Nearest-rank 95th percentile: the smallest latency with at least 95 % of samples at or below."""
        rank = func.row_number().over(partition_by=CameraHealth.camera_id, order_by=CameraHealth.latency_ms)
        count = func.count().over(partition_by=CameraHealth.camera_id)
        ranked = (
            select(CameraHealth.camera_id, CameraHealth.latency_ms, rank.label("rn"), count.label("n"))
            .select_from(Camera)
            .join(CameraHealth, joined)
            .where(*active, CameraHealth.latency_ms.is_not(None))
            .subquery()
        )
        query = (
            select(ranked.c.camera_id, func.min(ranked.c.latency_ms))
            .where(cast(ranked.c.rn, Integer) * 100 >= cast(ranked.c.n, Integer) * 95)
            .group_by(ranked.c.camera_id)
        )
        return {str(c): float(v) for c, v in (await self.session.execute(query)).all()}

    async def status_counts(self, group_id: str | None = None) -> dict[str, int]:
        query = select(Camera.status, func.count()).where(Camera.is_active.is_(True)).group_by(Camera.status)
        if group_id is not None:
            query = query.where(Camera.group_id == group_id)
        return {str(s): int(n) for s, n in (await self.session.execute(query)).all()}

    async def camera_ids(self) -> list[str]:
        return list((await self.session.execute(select(Camera.id).order_by(Camera.id))).scalars())

    async def prune_camera(self, camera_id: str, cutoff: datetime) -> int:
        """One camera's old samples: the (camera_id, checked_at) index finds them without a table scan."""
        result = await self.session.execute(
            delete(CameraHealth).where(CameraHealth.camera_id == camera_id, CameraHealth.checked_at < cutoff)
        )
        return int(getattr(result, "rowcount", 0) or 0)

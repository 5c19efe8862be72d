"""Job run records."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from vtrack.db.models import JobRun
from vtrack.db.repositories.paging import Page, paginate


class JobRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, run_id: str) -> JobRun | None:
        return await self.session.get(JobRun, run_id)

    async def search(
        self, page: int, page_size: int, name: str | None = None, status: str | None = None
    ) -> Page[JobRun]:
        query = select(JobRun).order_by(JobRun.created_at.desc(), JobRun.id)
        if name:
            query = query.where(JobRun.name == name)
        if status:
            query = query.where(JobRun.status == status)
        return await paginate(self.session, query, page, page_size)

    async def prune(self, *, trigger: str | None, finished_before: datetime) -> int:
        """Delete finished runs (of one trigger, or all) that ended before the cut-off."""
        statement = delete(JobRun).where(
            JobRun.status.not_in(("queued", "running")), JobRun.finished_at < finished_before
        )
        if trigger is not None:
            statement = statement.where(JobRun.trigger == trigger)
        return int((await self.session.execute(statement)).rowcount)  # type: ignore[attr-defined]

    def add(self, run: JobRun) -> None:
        self.session.add(run)

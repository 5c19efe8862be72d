"""Job run records."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select
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

    async def recent_of_source(self, name: str, source_id: str, limit: int) -> list[JobRun]:
        """A source's latest runs of one job, newest first (its id is in the run's parameters)."""
        query = (
            select(JobRun)
            .where(JobRun.name == name, JobRun.params["source_id"].as_string() == source_id)
            .order_by(JobRun.created_at.desc(), JobRun.id)
            .limit(limit)
        )
        return list((await self.session.scalars(query)).all())

    async def live(self, name: str, finished_since: datetime) -> list[JobRun]:
        """Runs of one job that are queued or running, or ended after `finished_since`: what a live
        progress view shows (a run that just ended still needs its final 100 % or its error shown)."""
        query = select(JobRun).where(
            JobRun.name == name,
            or_(JobRun.status.in_(("queued", "running")), JobRun.finished_at >= finished_since),
        )
        return list((await self.session.scalars(query.order_by(JobRun.created_at))).all())

    def add(self, run: JobRun) -> None:
        self.session.add(run)

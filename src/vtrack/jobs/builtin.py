"""Jobs that ship with the foundation; later steps register theirs the same way."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from vtrack.db.repositories.audit import AuditRepository
from vtrack.db.repositories.jobs import JobRepository
from vtrack.db.session import Database
from vtrack.db.types import utcnow
from vtrack.jobs.registry import JobContext, JobRegistry, JobResult


class JobsPruneParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scheduled_days: int = Field(default=7, ge=1, le=36_500, strict=True)
    days: int = Field(default=90, ge=1, le=36_500, strict=True)


class AuditPruneParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: int = Field(default=365, ge=1, le=36_500, strict=True)


def register_builtin_jobs(registry: JobRegistry, database: Database) -> None:
    @registry.register(
        "audit.prune", "Delete audit entries older than `days` (default 365)", AuditPruneParams
    )
    async def prune_audit(ctx: JobContext) -> JobResult:
        days = int(ctx.params["days"])
        await ctx.report(0.1, f"deleting entries older than {days} days")
        async with database.transaction() as session:
            deleted = await AuditRepository(session).prune_before(utcnow() - timedelta(days=days))
        return {"deleted": deleted}

    @registry.register(
        "jobs.prune",
        "Delete finished scheduled runs older than `scheduled_days` (default 7; a health round every minute "
        "adds 1,440 a day) and any finished run older than `days` (default 90)",
        JobsPruneParams,
    )
    async def prune_jobs(ctx: JobContext) -> JobResult:
        now = utcnow()
        async with database.transaction() as session:
            jobs = JobRepository(session)
            scheduled = await jobs.prune(
                trigger="schedule", finished_before=now - timedelta(days=int(ctx.params["scheduled_days"]))
            )
            other = await jobs.prune(
                trigger=None, finished_before=now - timedelta(days=int(ctx.params["days"]))
            )
        return {"deleted": scheduled + other}

"""Jobs that ship with the foundation; later steps register theirs the same way."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from vtrack.db.repositories.audit import AuditRepository
from vtrack.db.session import Database
from vtrack.db.types import utcnow
from vtrack.jobs.registry import JobContext, JobRegistry, JobResult


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

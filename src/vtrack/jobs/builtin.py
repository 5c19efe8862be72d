"""Jobs that ship with the foundation; later steps register theirs the same way."""

from __future__ import annotations

from datetime import timedelta

from vtrack.db.repositories.audit import AuditRepository
from vtrack.db.session import Database
from vtrack.db.types import utcnow
from vtrack.errors import InvalidInputError
from vtrack.jobs.registry import JobContext, JobRegistry, JobResult


def register_builtin_jobs(registry: JobRegistry, database: Database) -> None:
    @registry.register("audit.prune", "Delete audit entries older than `days` (default 365)")
    async def prune_audit(ctx: JobContext) -> JobResult:
        days = ctx.params.get("days", 365)
        if not isinstance(days, int) or isinstance(days, bool) or days < 1:
            raise InvalidInputError(
                "days must be a positive integer", [{"field": "params.days", "message": "≥ 1"}]
            )
        await ctx.report(0.1, f"deleting entries older than {days} days")
        async with database.transaction() as session:
            deleted = await AuditRepository(session).prune_before(utcnow() - timedelta(days=days))
        return {"deleted": deleted}

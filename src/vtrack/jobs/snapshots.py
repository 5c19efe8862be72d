"""The daily cleanup of expired snapshots: their files in the blob store, then their rows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vtrack.db.types import utcnow
from vtrack.jobs.registry import JobContext, JobResult
from vtrack.registry.snapshots import snapshot_service

if TYPE_CHECKING:
    from vtrack.services import Services

SNAPSHOT_CLEANUP = "snapshots.cleanup"


def register_snapshot_cleanup(services: Services) -> None:
    @services.job_registry.register(SNAPSHOT_CLEANUP, "Delete expired camera snapshots and their files")
    async def cleanup(ctx: JobContext) -> JobResult:
        async with services.database.transaction() as session:
            deleted = await snapshot_service(services, session).delete_expired(utcnow())
        return {"deleted": deleted}

    services.jobs.schedule(SNAPSHOT_CLEANUP, every_seconds=24 * 3600)

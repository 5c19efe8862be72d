"""Snapshot upkeep: the daily cleanup of expired snapshots (their files in the blob store, then their
rows), and the refresh that keeps a recent picture of every camera for the dashboard's grid."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from vtrack.db.repositories.snapshots import SnapshotRepository
from vtrack.db.types import utcnow
from vtrack.errors import DomainError
from vtrack.jobs.registry import JobContext, JobResult
from vtrack.registry.cameras import CameraService
from vtrack.registry.snapshots import snapshot_service
from vtrack.security.audit import Actor, Auditor

if TYPE_CHECKING:
    from vtrack.services import Services

log = logging.getLogger(__name__)

SNAPSHOT_CLEANUP = "snapshots.cleanup"
SNAPSHOT_REFRESH = "snapshots.refresh"
REFRESH_BATCH = 50  # cameras per run; a run every minute works through a large site over several
REFRESH_CONCURRENCY = 4  # each capture decodes a frame in a thread: keep the box responsive
REFRESH_CHECK_SECONDS = 60.0  # a camera added now gets its first picture within about this long


def register_snapshot_cleanup(services: Services) -> None:
    @services.job_registry.register(SNAPSHOT_CLEANUP, "Delete expired camera snapshots and their files")
    async def cleanup(ctx: JobContext) -> JobResult:
        async with services.database.transaction() as session:
            deleted = await snapshot_service(services, session).delete_expired(utcnow())
        return {"deleted": deleted}

    services.jobs.schedule(SNAPSHOT_CLEANUP, every_seconds=24 * 3600)


def register_snapshot_refresh(services: Services) -> None:
    minutes = services.settings.snapshot_refresh_minutes

    @services.job_registry.register(SNAPSHOT_REFRESH, "Take a fresh snapshot of cameras whose latest is old")
    async def refresh(ctx: JobContext) -> JobResult:
        async with services.database.session() as session:
            stale = await SnapshotRepository(session).stale_cameras(
                utcnow() - timedelta(minutes=minutes), REFRESH_BATCH
            )
        gate = asyncio.Semaphore(REFRESH_CONCURRENCY)
        done = 0

        async def take(camera_id: str) -> bool:
            nonlocal done
            async with gate:
                try:
                    async with services.database.transaction() as session:
                        cameras = CameraService(session, services.keyring, Auditor(session, Actor.system()))
                        camera = await cameras.get(camera_id)
                        await snapshot_service(services, session).capture(
                            camera,
                            cameras.decrypt_password(camera),
                            timeout=services.settings.health_timeout_seconds,
                            save_thumbnail=True,
                        )
                    return True
                except DomainError as exc:  # unreachable, refused, deleted meanwhile: the next run retries
                    log.info("snapshot of camera %s failed: %s", camera_id, exc.message)
                    return False
                finally:
                    done += 1
                    await ctx.report(done / len(stale), f"{done}/{len(stale)} cameras")

        results = await asyncio.gather(*(take(camera_id) for camera_id in stale))
        return {"captured": sum(results), "failed": len(results) - sum(results)}

    if minutes > 0:
        services.jobs.schedule(SNAPSHOT_REFRESH, every_seconds=min(REFRESH_CHECK_SECONDS, minutes * 60))

"""Recording sync: run one now, read a run's progress, see and set a source's sync status."""

from __future__ import annotations

from fastapi import APIRouter, status

from vtrack.api.deps import AuditorDep, ServicesDep, SessionDep, SourcesRead, SourcesWrite
from vtrack.api.envelope import Envelope, error_responses, ok
from vtrack.api.schemas.sync import (
    DownloadRequest,
    SyncJobOut,
    SyncNow,
    SyncSettings,
    SyncStarted,
    SyncStatusOut,
)
from vtrack.db.models import User
from vtrack.db.repositories.cloud import CloudRepository
from vtrack.db.repositories.jobs import JobRepository
from vtrack.db.repositories.sources import SourceRepository
from vtrack.db.repositories.sync import SyncRepository
from vtrack.db.types import utcnow
from vtrack.errors import InvalidInputError, NotFoundError
from vtrack.registry.cloud_sources import can_see, visible_source
from vtrack.services import Services
from vtrack.sources.providers import CLOUD_TYPES
from vtrack.sync.service import SYNC_JOB

router = APIRouter(tags=["sync"], responses=error_responses(401, 403, 404, 422))


async def _check_cameras(
    session: SessionDep, user: User, source_id: str, camera_ids: list[str] | None
) -> None:
    await visible_source(session, user, source_id)
    if camera_ids:
        known = {camera.id for camera in await SourceRepository(session).cameras(source_id)}
        unknown = [camera_id for camera_id in camera_ids if camera_id not in known]
        if unknown:
            raise InvalidInputError(
                f"cameras not of this source: {', '.join(unknown)}",
                [
                    {"field": "cameras", "message": f"not a camera of source {source_id}: {c}"}
                    for c in unknown
                ],
            )


async def _start(services: Services, source_id: str, body: SyncNow, audit: AuditorDep) -> SyncStarted:
    job_id = await services.sync.submit(source_id, start=body.start, end=body.end, camera_ids=body.cameras)
    audit.record("sync.start", "source", source_id, job_id=job_id)
    return SyncStarted(job_id=job_id, state="queued")


@router.post("/sources/{source_id}/sync", status_code=status.HTTP_202_ACCEPTED)
async def sync_now(
    source_id: str,
    body: SyncNow,
    user: SourcesWrite,
    services: ServicesDep,
    session: SessionDep,
    audit: AuditorDep,
) -> Envelope[SyncStarted]:
    await _check_cameras(session, user, source_id, body.cameras)
    return ok(await _start(services, source_id, body, audit))


@router.post("/download-nvr-videos", status_code=status.HTTP_202_ACCEPTED)
async def download_nvr_videos(
    body: DownloadRequest, user: SourcesWrite, services: ServicesDep, session: SessionDep, audit: AuditorDep
) -> Envelope[SyncStarted]:
    """Seed 001's explicit download: one source, some cameras, a time range."""
    await _check_cameras(session, user, body.source_id, body.cameras)
    return ok(await _start(services, body.source_id, body, audit))


@router.get("/sync/jobs/{job_id}")
async def sync_job(job_id: str, user: SourcesRead, session: SessionDep) -> Envelope[SyncJobOut]:
    run = await JobRepository(session).get(job_id)
    if run is None or run.name != SYNC_JOB:
        raise NotFoundError(f"sync job {job_id} not found")
    source = await SourceRepository(session).get(str(run.params.get("source_id", "")))
    if source is not None and not can_see(user, source):
        raise NotFoundError(f"sync job {job_id} not found")
    return ok(SyncJobOut.of(run))


async def _status(services: Services, session: SessionDep, user: User, source_id: str) -> SyncStatusOut:
    source = await visible_source(session, user, source_id)
    repo = SyncRepository(session)
    if source.source_type in CLOUD_TYPES:
        counts, size = await CloudRepository(session).file_counts(source_id)
    else:
        counts, size = await repo.file_counts(source_id)
    directory = services.archive_layout.source_dir(source.name)
    return SyncStatusOut.of(await repo.status(source_id), counts, size, str(directory))


@router.get("/sources/{source_id}/sync-status")
async def sync_status(
    source_id: str, user: SourcesRead, services: ServicesDep, session: SessionDep
) -> Envelope[SyncStatusOut]:
    return ok(await _status(services, session, user, source_id))


@router.patch("/sources/{source_id}/sync-status")
async def set_sync(
    source_id: str,
    body: SyncSettings,
    user: SourcesWrite,
    services: ServicesDep,
    session: SessionDep,
    audit: AuditorDep,
) -> Envelope[SyncStatusOut]:
    """Turn auto-sync on or off, or change its interval; turning it on schedules a run now."""
    await visible_source(session, user, source_id)
    row = await SyncRepository(session).status(source_id)
    if body.interval_seconds is not None:
        row.interval_seconds = body.interval_seconds
    if body.enabled is not None:
        row.enabled = body.enabled
        row.next_run_at = utcnow() if body.enabled else None
    audit.record("sync.settings", "source", source_id, **body.model_dump(exclude_none=True))
    await session.flush()
    return ok(await _status(services, session, user, source_id))

"""Builds recording sync from the services: the archive, the device side, the engine, the scheduler."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from vtrack.archive.disk import DiskGuard
from vtrack.archive.layout import ArchiveLayout
from vtrack.db.models import VideoSource
from vtrack.db.repositories.sources import SourceRepository
from vtrack.db.repositories.sync import SyncRepository
from vtrack.db.types import utcnow
from vtrack.jobs.registry import JobContext, JobResult
from vtrack.registry.cloud_accounts import CloudAccounts
from vtrack.registry.sources import SOURCE_PASSWORD
from vtrack.sources.providers import CLOUD_TYPES
from vtrack.sync.archive_adapter import GB, LocalArchive
from vtrack.sync.cloud import CloudOptions, CloudSyncEngine
from vtrack.sync.engine import EngineOptions, ProgressCallback, SyncEngine, SyncOutcome, SyncRequest
from vtrack.sync.fetchers import DeviceFetching
from vtrack.sync.service import SyncCoordinator, register_sync_job

if TYPE_CHECKING:
    from vtrack.services import Services

RETENTION_JOB = "archive.retention"
# A bare RTSP URL has no recordings.
DEVICE_SYNCABLE = frozenset({"onvif", "nvr", "hikvision", "dahua", "tapo"})
SYNCABLE = DEVICE_SYNCABLE | CLOUD_TYPES


def build_engine(services: Services, guard: DiskGuard | None = None) -> SyncEngine:
    settings = services.settings
    archive = LocalArchive(
        services.archive_layout,
        guard or DiskGuard.from_settings(settings),
        max_age=timedelta(days=settings.retention_max_age_days) if settings.retention_max_age_days else None,
        max_bytes_per_camera=int(settings.retention_max_gb_per_camera * GB)
        if settings.retention_max_gb_per_camera
        else None,
    )
    fetching = DeviceFetching(settings.sync_request_timeout_seconds)
    options = EngineOptions(
        chunk=timedelta(minutes=settings.sync_chunk_minutes),
        zone=ZoneInfo(settings.timezone),
        device_concurrency=settings.sync_device_concurrency,
    )

    def password_of(source: VideoSource) -> str | None:
        if not source.secret_encrypted:
            return None
        return services.keyring.decrypt(source.secret_encrypted, SOURCE_PASSWORD)

    return SyncEngine(services.database, password_of, fetching.search, fetching.fetch, archive, options)


def build_cloud_engine(services: Services, guard: DiskGuard | None = None) -> CloudSyncEngine:
    return CloudSyncEngine(
        services.database,
        services.cloud.connector,
        services.archive_layout,
        guard or DiskGuard.from_settings(services.settings),
        CloudOptions(concurrency=services.settings.cloud_concurrency),
    )


class SourceEngines:
    """Each run goes to the engine of its source's kind: recorded time from devices, files from clouds."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def run(self, request: SyncRequest, report: ProgressCallback | None = None) -> SyncOutcome:
        async with self.services.database.session() as session:
            source = await SourceRepository(session).get(request.source_id)
        if source is not None and source.source_type in CLOUD_TYPES:
            return await build_cloud_engine(self.services).run(request, report)
        return await build_engine(self.services).run(request, report)


def register_sync(services: Services) -> SyncCoordinator:
    settings = services.settings
    if settings.archive_dir is None:
        # The default archive lives in the data dir and is made with it. A configured one (a NAS mount)
        # is never created here: writing into an empty mount point would fill the system disk instead.
        settings.resolved_archive_dir.mkdir(mode=0o750, parents=True, exist_ok=True)
    services.archive_layout = ArchiveLayout(settings.resolved_archive_dir, settings.timezone)
    services.cloud = CloudAccounts(services.database, services.keyring, settings)
    services.sync = SyncCoordinator(
        services.database,
        services.jobs,
        lambda: SourceEngines(services),
        lookback=timedelta(hours=settings.sync_lookback_hours),
        interval_seconds=settings.sync_interval_seconds,
    )
    register_sync_job(services.job_registry, services.sync)

    @services.job_registry.register(
        RETENTION_JOB, "Trim every camera's archive to its retention limits (also done after each sync)"
    )
    async def retention(ctx: JobContext) -> JobResult:
        async with services.database.session() as session:
            cameras = list(await SyncRepository(session).archived_cameras())
        return {"cameras": len(cameras), "deleted": await build_engine(services).apply_retention(cameras)}

    # Sources whose sync is off (or failing) are trimmed too.
    services.jobs.schedule(RETENTION_JOB, every_seconds=24 * 3600)
    return services.sync


async def source_saved(
    session: AsyncSession, services: Services, source: VideoSource, camera_names: list[str]
) -> None:
    """A saved source gets a folder per selected camera and (if it records) a sync within seconds.

    Runs in the request's transaction, so the status row commits with the source it belongs to.
    """
    services.archive_layout.ensure_camera_dirs(source.name, camera_names)
    if source.source_type not in SYNCABLE or not source.is_active:
        return
    status = await SyncRepository(session).status(source.id, services.settings.sync_interval_seconds)
    if status.enabled:
        status.next_run_at = utcnow()
    if status.error_kind == "auth":  # new credentials deserve a new try
        status.state, status.error, status.error_kind = "idle", None, None

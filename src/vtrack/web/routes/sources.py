"""Source pages: every visible source with its archive folder and live sync progress, and one source's
details (cameras, schedule, recent runs, cloud folder picker).

Pages only read, through the repositories and schemas the sources and sync APIs use; "Sync now", the
schedule, the folder choice and delete go from the browser to the JSON API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from vtrack.api.deps import ServicesDep, SessionDep
from vtrack.api.schemas.sources import SourceOut
from vtrack.api.schemas.sync import SyncJobOut, SyncStatusOut
from vtrack.db.models import Camera, VideoSource
from vtrack.db.repositories.cloud import CloudRepository
from vtrack.db.repositories.jobs import JobRepository
from vtrack.db.repositories.sources import SourceRepository
from vtrack.db.repositories.sync import SyncRepository
from vtrack.errors import NotFoundError
from vtrack.registry.cloud_accounts import is_admin
from vtrack.registry.cloud_sources import visible_source
from vtrack.services import Services
from vtrack.sources.providers import CLOUD_TYPES, SignIn, provider
from vtrack.sync.service import SYNC_JOB
from vtrack.web.session import SourcesReader, TemplatesDep

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
RECENT_JOBS = 10


@dataclass(frozen=True)
class SourceView:
    """A source with what the list shows about its sync: the latest run decides the bar's start."""

    source: SourceOut
    status: SyncStatusOut
    job: SyncJobOut | None
    cameras: list[Camera]

    @property
    def percent(self) -> int:
        return round((self.job.progress if self.job else 0.0) * 100)

    @property
    def state(self) -> str:
        """queued, running, done or failed (the stream's words), or idle before the first run."""
        return self.job.state if self.job else "idle"

    @property
    def error(self) -> str:
        if self.job is not None and self.job.state == "failed":
            return self.job.error or self.status.error or ""
        return self.status.error or self.source.last_error or ""

    @property
    def cloud(self) -> bool:
        return self.source.type in CLOUD_TYPES

    @property
    def has_folders(self) -> bool:
        """Cloud drives have a folder tree to pick from; buckets, server folders and camera clouds do not."""
        return self.cloud and provider(self.source.type).sign_in is SignIn.OAUTH

    @property
    def root(self) -> str:
        return str(self.source.config.get("root") or "")


async def source_view(services: Services, session: SessionDep, source: VideoSource) -> SourceView:
    cameras = list(await SourceRepository(session).cameras(source.id))
    sync = SyncRepository(session)
    if source.source_type in CLOUD_TYPES:
        counts, size = await CloudRepository(session).file_counts(source.id)
    else:
        counts, size = await sync.file_counts(source.id)
    row = await sync.status(source.id)
    directory = str(services.archive_layout.source_dir(source.name))
    status = SyncStatusOut.of(row, counts, size, directory)
    job = None
    if row.last_job_id:
        run = await JobRepository(session).get(row.last_job_id)
        job = SyncJobOut.of(run) if run is not None else None
    out = SourceOut.of(source, [camera.id for camera in cameras if camera.is_active])
    return SourceView(out, status, job, cameras)


async def recent_jobs(session: SessionDep, source_id: str) -> list[SyncJobOut]:
    runs = await JobRepository(session).recent_of_source(SYNC_JOB, source_id, RECENT_JOBS)
    return [SyncJobOut.of(run) for run in runs]


@router.get("/sources")
async def source_list(
    request: Request,
    user: SourcesReader,
    services: ServicesDep,
    session: SessionDep,
    templates: TemplatesDep,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    result = await SourceRepository(session).search(
        page, PAGE_SIZE, None, None if is_admin(user) else user.id
    )
    views = [await source_view(services, session, source) for source in result.items]
    context: dict[str, Any] = {"views": views, "result": result}
    return templates.render(request, "sources/list.html", context, user=user)


@router.get("/sources/{source_id}")
async def source_detail(
    source_id: str,
    request: Request,
    user: SourcesReader,
    services: ServicesDep,
    session: SessionDep,
    templates: TemplatesDep,
) -> Response:
    try:
        source = await visible_source(session, user, source_id)
    except NotFoundError:
        return templates.render(request, "error.html", {"status": 404}, user=user, status_code=404)
    view = await source_view(services, session, source)
    context = {"view": view, "jobs": await recent_jobs(session, source.id)}
    return templates.render(request, "sources/detail.html", context, user=user)

"""Video sources: save an NVR / ONVIF device / RTSP URL (probing it), list, change, re-probe, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from vtrack.api.deps import AuditorDep, ServicesDep, SessionDep, SourcesRead, SourcesWrite
from vtrack.api.envelope import Envelope, PagedEnvelope, error_responses, ok, paged
from vtrack.api.schemas.sources import SourceOut
from vtrack.db.models import VideoSource
from vtrack.db.repositories.sources import SourceRepository
from vtrack.db.types import utcnow
from vtrack.devices.probe import probe_source
from vtrack.registry.cloud_accounts import is_admin
from vtrack.registry.cloud_sources import CloudSourceService, visible_source
from vtrack.registry.snapshots import snapshot_service
from vtrack.registry.source_schemas import SourceCreate, SourceType, SourceUpdate
from vtrack.registry.sources import SourceService
from vtrack.security.audit import Auditor
from vtrack.services import Services
from vtrack.sources.providers import CLOUD_TYPES
from vtrack.sync.wiring import source_saved

router = APIRouter(prefix="/sources", tags=["sources"], responses=error_responses(401, 403, 422))


def _service(services: Services, session: SessionDep, audit: Auditor) -> SourceService:
    return SourceService(session, services.keyring, audit, probe_source)


async def _out(session: SessionDep, source: VideoSource) -> SourceOut:
    cameras = await SourceRepository(session).cameras(source.id)
    return SourceOut.of(source, [camera.id for camera in cameras if camera.is_active])


@router.get("")
async def list_sources(
    user: SourcesRead,
    session: SessionDep,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 20,
    type: Annotated[SourceType | None, Query()] = None,
) -> PagedEnvelope[SourceOut]:
    visible_to = None if is_admin(user) else user.id
    result = await SourceRepository(session).search(page, page_size, type, visible_to)
    return paged(result, [await _out(session, source) for source in result.items])


@router.post("", status_code=status.HTTP_201_CREATED, responses=error_responses(409, 502))
async def create_source(
    body: SourceCreate, user: SourcesWrite, services: ServicesDep, session: SessionDep, audit: AuditorDep
) -> Envelope[SourceOut]:
    """Device types are probed for their cameras; cloud ones are connection-tested and owned by the caller."""
    if body.type in CLOUD_TYPES:
        source = await CloudSourceService(session, services.keyring, audit, services.cloud).create(user, body)
    else:
        source = await _service(services, session, audit).create(body)
    await source_saved(session, services, source, list(source.selected_cameras))
    return ok(await _out(session, source))


@router.get("/{source_id}", responses=error_responses(404))
async def get_source(source_id: str, user: SourcesRead, session: SessionDep) -> Envelope[SourceOut]:
    return ok(await _out(session, await visible_source(session, user, source_id)))


@router.patch("/{source_id}", responses=error_responses(404, 409, 502))
async def update_source(
    source_id: str,
    body: SourceUpdate,
    user: SourcesWrite,
    services: ServicesDep,
    session: SessionDep,
    audit: AuditorDep,
) -> Envelope[SourceOut]:
    source = await visible_source(session, user, source_id)
    if source.source_type in CLOUD_TYPES:
        await CloudSourceService(session, services.keyring, audit, services.cloud).update(source, body)
    else:
        source = await _service(services, session, audit).update(source, body)
    await source_saved(session, services, source, list(source.selected_cameras))
    return ok(await _out(session, source))


@router.post("/{source_id}/probe", responses=error_responses(404, 502))
async def reprobe_source(
    source_id: str,
    user: SourcesWrite,
    services: ServicesDep,
    session: SessionDep,
    audit: AuditorDep,
    timeout_seconds: Annotated[float, Query(ge=0.5, le=60)] = 5.0,
) -> Envelope[SourceOut]:
    """Ask the device again for its cameras; for a cloud source, run its connection test."""
    source = await visible_source(session, user, source_id)
    if source.source_type in CLOUD_TYPES:
        cloud = CloudSourceService(session, services.keyring, audit, services.cloud)
        source.config = {**source.config, "account": await cloud.test(source)}
        source.probed_at, source.status, source.last_error = utcnow(), "ok", None
    else:
        source = await _service(services, session, audit).reprobe(source, timeout_seconds)
    return ok(await _out(session, source))


@router.delete("/{source_id}", responses=error_responses(404))
async def delete_source(
    source_id: str,
    user: SourcesWrite,
    services: ServicesDep,
    session: SessionDep,
    audit: AuditorDep,
    delete_cameras: bool = False,
) -> Envelope[dict[str, int]]:
    service = _service(services, session, audit)
    source = await visible_source(session, user, source_id)
    if delete_cameras:
        cameras = await SourceRepository(session).cameras(source.id)
        await snapshot_service(services, session).delete_files_of([camera.id for camera in cameras])
    deleted = await service.delete(source, delete_cameras=delete_cameras)
    return ok({"camerasDeleted": deleted})

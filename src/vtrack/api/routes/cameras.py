"""Camera CRUD, state and summary."""

from __future__ import annotations

from typing import Annotated, get_args

from fastapi import APIRouter, Query, status

from vtrack.api.deps import AuditorDep, CamerasRead, CamerasWrite, ServicesDep, SessionDep
from vtrack.api.envelope import Envelope, PagedEnvelope, error_responses, ok, paged
from vtrack.api.schemas.cameras import CameraOut, CameraSummary
from vtrack.db.repositories.cameras import CameraFilter, CameraRepository, CameraSort
from vtrack.registry.cameras import CameraService
from vtrack.registry.schemas import CameraCreate, CameraStateUpdate, CameraStatus, CameraUpdate
from vtrack.registry.snapshots import snapshot_service

router = APIRouter(prefix="/cameras", tags=["cameras"], responses=error_responses(401, 403, 422))
_SORTS = ", ".join(get_args(CameraSort))


@router.get("")
async def list_cameras(
    _: CamerasRead,
    session: SessionDep,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 20,
    group_id: Annotated[str | None, Query(max_length=36)] = None,
    status: Annotated[CameraStatus | None, Query()] = None,
    active_only: bool = False,
    q: Annotated[str | None, Query(max_length=255, description="Search in name and location")] = None,
    sort: Annotated[CameraSort, Query(description=f"One of {_SORTS}")] = "name",
) -> PagedEnvelope[CameraOut]:
    flt = CameraFilter(group_id=group_id, status=status, active_only=active_only, q=q or None)
    result = await CameraRepository(session).search(flt, page, page_size, sort)
    return paged(result, [CameraOut.of(c) for c in result.items])


@router.get("/summary")
async def camera_summary(_: CamerasRead, session: SessionDep) -> Envelope[CameraSummary]:
    return ok(CameraSummary.model_validate(await CameraRepository(session).summary()))


@router.post("", status_code=status.HTTP_201_CREATED, responses=error_responses(409))
async def create_camera(
    body: CameraCreate, _: CamerasWrite, services: ServicesDep, session: SessionDep, audit: AuditorDep
) -> Envelope[CameraOut]:
    return ok(CameraOut.of(await CameraService(session, services.keyring, audit).create(body)))


@router.get("/{camera_id}", responses=error_responses(404))
async def get_camera(
    camera_id: str, _: CamerasRead, services: ServicesDep, session: SessionDep, audit: AuditorDep
) -> Envelope[CameraOut]:
    return ok(CameraOut.of(await CameraService(session, services.keyring, audit).get(camera_id)))


@router.put("/{camera_id}", responses=error_responses(404, 409))
async def update_camera(
    camera_id: str,
    body: CameraUpdate,
    _: CamerasWrite,
    services: ServicesDep,
    session: SessionDep,
    audit: AuditorDep,
) -> Envelope[CameraOut]:
    cameras = CameraService(session, services.keyring, audit)
    return ok(CameraOut.of(await cameras.update(await cameras.get(camera_id), body)))


@router.patch("/{camera_id}/state", responses=error_responses(404))
async def set_camera_state(
    camera_id: str,
    body: CameraStateUpdate,
    _: CamerasWrite,
    services: ServicesDep,
    session: SessionDep,
    audit: AuditorDep,
) -> Envelope[CameraOut]:
    cameras = CameraService(session, services.keyring, audit)
    return ok(CameraOut.of(await cameras.set_state(await cameras.get(camera_id), body)))


@router.delete("/{camera_id}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(404))
async def delete_camera(
    camera_id: str, _: CamerasWrite, services: ServicesDep, session: SessionDep, audit: AuditorDep
) -> None:
    cameras = CameraService(session, services.keyring, audit)
    camera = await cameras.get(camera_id)
    await snapshot_service(services, session).delete_files_of([camera.id])
    await cameras.delete(camera)

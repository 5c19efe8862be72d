"""Camera groups at /cameras/groups."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from vtrack.api.deps import AuditorDep, CamerasRead, CamerasWrite, SessionDep
from vtrack.api.envelope import Envelope, PagedEnvelope, error_responses, ok, paged
from vtrack.api.schemas.cameras import GroupOut
from vtrack.db.repositories.cameras import GroupRepository
from vtrack.registry.cameras import GroupService
from vtrack.registry.schemas import GroupCreate, GroupUpdate

router = APIRouter(prefix="/cameras/groups", tags=["camera groups"], responses=error_responses(401, 403, 422))


@router.get("")
async def list_groups(
    _: CamerasRead,
    session: SessionDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 100,
    q: Annotated[str | None, Query(max_length=255)] = None,
) -> PagedEnvelope[GroupOut]:
    repo = GroupRepository(session)
    result = await repo.search(page, page_size, q)
    counts = await repo.camera_counts([g.id for g in result.items])
    return paged(result, [GroupOut.of(g, counts.get(g.id, 0)) for g in result.items])


@router.post("", status_code=status.HTTP_201_CREATED, responses=error_responses(409))
async def create_group(
    body: GroupCreate, _: CamerasWrite, session: SessionDep, audit: AuditorDep
) -> Envelope[GroupOut]:
    return ok(GroupOut.of(await GroupService(session, audit).create(body), 0))


@router.get("/{group_id}", responses=error_responses(404))
async def get_group(
    group_id: str, _: CamerasRead, session: SessionDep, audit: AuditorDep
) -> Envelope[GroupOut]:
    group = await GroupService(session, audit).get(group_id)
    counts = await GroupRepository(session).camera_counts([group.id])
    return ok(GroupOut.of(group, counts.get(group.id, 0)))


@router.put("/{group_id}", responses=error_responses(404, 409))
async def update_group(
    group_id: str, body: GroupUpdate, _: CamerasWrite, session: SessionDep, audit: AuditorDep
) -> Envelope[GroupOut]:
    service = GroupService(session, audit)
    group = await service.update(await service.get(group_id), body)
    counts = await GroupRepository(session).camera_counts([group.id])
    return ok(GroupOut.of(group, counts.get(group.id, 0)))


@router.delete("/{group_id}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(404, 409))
async def delete_group(group_id: str, _: CamerasWrite, session: SessionDep, audit: AuditorDep) -> None:
    service = GroupService(session, audit)
    await service.delete(await service.get(group_id))

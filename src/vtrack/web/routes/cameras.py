"""Camera pages: the searchable list, the create/edit form, and bulk import/export.

Pages only read; every change goes from the browser to the JSON API, so validation lives there.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from vtrack.api.deps import SessionDep
from vtrack.api.schemas.cameras import CameraOut
from vtrack.db.repositories.cameras import CameraRepository
from vtrack.registry.schemas import CameraProtocol, Codec
from vtrack.web import camera_views
from vtrack.web.camera_views import CameraQuery
from vtrack.web.session import CamerasReader, CamerasWriter, TemplatesDep

router = APIRouter(include_in_schema=False)

TABLE_ID = "camera-table"


def camera_query(
    q: str | None = None,
    status: str | None = None,
    group: str | None = None,
    active: str | None = None,
    sort: str | None = None,
    page: str | None = None,
    page_size: str | None = None,
) -> CameraQuery:
    return CameraQuery.parse(q, status, group, active, sort, page, page_size)


QueryDep = Annotated[CameraQuery, Depends(camera_query)]


async def _list_context(session: SessionDep, query: CameraQuery) -> dict[str, object]:
    return {
        "query": query,
        "result": await camera_views.camera_page(session, query),
        "groups": await camera_views.groups(session),
        "statuses": camera_views.STATUSES,
        "sorts": camera_views.SORTS,
        "page_sizes": camera_views.PAGE_SIZES,
    }


@router.get("/cameras")
async def camera_list(
    request: Request, user: CamerasReader, session: SessionDep, templates: TemplatesDep, query: QueryDep
) -> Response:
    context = await _list_context(session, query)
    return templates.render(request, "cameras/list.html", context, user=user)


@router.get("/cameras/table")
async def camera_table(
    request: Request, user: CamerasReader, session: SessionDep, templates: TemplatesDep, query: QueryDep
) -> Response:
    """The table alone, for htmx; a filter change also puts its query in the address bar, a live refresh
    (triggered by the table itself) leaves the address as it is."""
    context = await _list_context(session, query)
    headers = {}
    if request.headers.get("HX-Request") and request.headers.get("HX-Trigger") != TABLE_ID:
        headers["HX-Push-Url"] = query.url("/cameras")
    return templates.render(request, "cameras/_table.html", context, user=user, headers=headers)


def _form_context(camera: CameraOut | None, groups: object) -> dict[str, object]:
    return {
        "camera": camera,
        "groups": groups,
        "protocols": [p.value for p in CameraProtocol],
        "codecs": [c.value for c in Codec],
    }


@router.get("/cameras/new")
async def camera_new(
    request: Request, user: CamerasWriter, session: SessionDep, templates: TemplatesDep
) -> Response:
    context = _form_context(None, await camera_views.groups(session))
    return templates.render(request, "cameras/form.html", context, user=user)


@router.get("/cameras/import")
async def camera_import(
    request: Request, user: CamerasWriter, session: SessionDep, templates: TemplatesDep
) -> Response:
    context = {"groups": await camera_views.groups(session)}
    return templates.render(request, "cameras/import.html", context, user=user)


@router.get("/cameras/{camera_id}/edit")
async def camera_edit(
    request: Request,
    camera_id: str,
    user: CamerasWriter,
    session: SessionDep,
    templates: TemplatesDep,
) -> Response:
    camera = await CameraRepository(session).get(camera_id)
    if camera is None:
        return templates.render(request, "error.html", {"status": 404}, user=user, status_code=404)
    context = _form_context(CameraOut.of(camera), await camera_views.groups(session))
    return templates.render(request, "cameras/form.html", context, user=user)

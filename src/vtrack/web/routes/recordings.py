"""Recording pages: the archive by source, camera and day (htmx table), and a player per recording.

Device recordings and cloud files (videos synced from a drive or camera cloud) share the table and the
player; a cloud file shows where it came from instead of a camera, and choosing a camera leaves them out.

Rows come from the recordings repository the API uses, with the same visibility (another user's cloud
source does not exist here either); the video itself streams from GET /api/v1/recordings/{id}/video.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from vtrack.api.deps import ServicesDep, SessionDep
from vtrack.api.routes.recordings import visible_to
from vtrack.api.schemas.recordings import RecordingDetailOut, RecordingOut
from vtrack.archive.errors import ArchivePathError
from vtrack.db.models import Camera, User, VideoSource
from vtrack.db.repositories.paging import Page
from vtrack.db.repositories.recordings import RecordingFilter, RecordingRepository, local_day
from vtrack.db.repositories.sources import SourceRepository
from vtrack.registry.cloud_sources import can_see
from vtrack.web.session import SourcesReader, TemplatesDep
from vtrack.web.templating import Templates

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 25
MAX_SOURCES = 200


@dataclass(frozen=True)
class RecordingQuery:
    source_id: str
    camera_id: str
    day: date | None  # None: every day
    page: int

    def params(self, **changes: Any) -> str:
        values = {
            "source_id": self.source_id,
            "camera_id": self.camera_id,
            "date": self.day.isoformat() if self.day else "",
            "page": self.page,
        }
        values.update(changes)
        return urlencode(values)


def recording_query(
    request: Request,
    source_id: Annotated[str, Query(max_length=36)] = "",
    camera_id: Annotated[str, Query(max_length=36)] = "",
    date_text: Annotated[str | None, Query(alias="date", max_length=10)] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> RecordingQuery:
    """No date: today in the configured zone; an empty one (the field cleared): every day."""
    templates: Templates = request.app.state.templates
    day: date | None = templates.now().date()
    if date_text is not None:
        try:
            day = date.fromisoformat(date_text) if date_text else None
            if day is not None:
                local_day(day, templates.zone)
        except (ValueError, OverflowError):
            day = templates.now().date()
    return RecordingQuery(source_id, camera_id, day, page)


QueryDep = Annotated[RecordingQuery, Depends(recording_query)]


async def _page(
    session: SessionDep, templates: Templates, user: User, query: RecordingQuery
) -> Page[RecordingOut]:
    where = RecordingFilter(source_id=query.source_id or None, camera_id=query.camera_id or None)
    if query.day is not None:
        day_start, day_end = local_day(query.day, templates.zone)
        where = RecordingFilter(where.source_id, where.camera_id, day_start=day_start, day_end=day_end)
    result = await RecordingRepository(session).search(query.page, PAGE_SIZE, where, visible_to(user))
    items = [RecordingOut.of(item) for item in result.items]
    return Page(items=items, page=result.page, page_size=result.page_size, total=result.total)


async def _sources(session: SessionDep, user: User) -> list[VideoSource]:
    return (await SourceRepository(session).search(1, MAX_SOURCES, None, visible_to(user))).items


async def _cameras(session: SessionDep, user: User, source_id: str) -> list[Camera]:
    if not source_id:
        return []
    source = await SourceRepository(session).get(source_id)
    if source is None or not can_see(user, source):
        return []
    return list(await SourceRepository(session).cameras(source_id))


@router.get("/recordings")
async def recording_list(
    request: Request, user: SourcesReader, session: SessionDep, templates: TemplatesDep, query: QueryDep
) -> Response:
    context = {
        "query": query,
        "result": await _page(session, templates, user, query),
        "sources": await _sources(session, user),
        "cameras": await _cameras(session, user, query.source_id),
    }
    return templates.render(request, "recordings/list.html", context, user=user)


@router.get("/recordings/table")
async def recording_table(
    request: Request, user: SourcesReader, session: SessionDep, templates: TemplatesDep, query: QueryDep
) -> Response:
    context = {"query": query, "result": await _page(session, templates, user, query)}
    return templates.render(request, "recordings/_table.html", context, user=user)


@router.get("/recordings/cameras")
async def camera_options(
    request: Request,
    user: SourcesReader,
    session: SessionDep,
    templates: TemplatesDep,
    source_id: Annotated[str, Query(max_length=36)] = "",
) -> Response:
    """The camera filter for the chosen source (htmx swaps the select when the source changes)."""
    context = {"cameras": await _cameras(session, user, source_id), "selected": "", "reload": True}
    return templates.render(request, "recordings/_cameras.html", context, user=user)


@router.get("/recordings/{recording_id}")
async def recording_player(
    recording_id: str,
    request: Request,
    user: SourcesReader,
    services: ServicesDep,
    session: SessionDep,
    templates: TemplatesDep,
) -> Response:
    repository = RecordingRepository(session)
    item = await repository.get(recording_id, visible_to(user))
    if item is None:
        return templates.render(request, "error.html", {"status": 404}, user=user, status_code=404)
    previous, following = await repository.neighbours(item.file)
    recording = RecordingDetailOut(
        **RecordingOut.of(item).model_dump(), previous_id=previous, next_id=following
    )
    try:
        present = bool(item.file.path) and services.archive_layout.resolve(item.file.path or "").is_file()
    except ArchivePathError:
        present = False
    context = {"recording": recording, "present": present}
    return templates.render(request, "recordings/player.html", context, user=user)

"""The archive's recordings: list them by source, camera and day, read one, and stream its file.

A recording is either a device's (a camera's time range, `kind` device) or a video synced from a cloud
drive or camera cloud (`kind` cloud: no camera, timed by its modified time); both are listed together.
Only files in state done are recordings here: anything else is a download in progress or a file that
retention removed. Cloud isolation is the sources API's: another user's cloud source, and so its files,
do not exist for you (404, never 403, so ids cannot be probed).
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from pydantic import AwareDatetime

from vtrack.api.deps import ServicesDep, SessionDep, SourcesRead
from vtrack.api.envelope import Envelope, PagedEnvelope, error_responses, ok, paged
from vtrack.api.schemas.recordings import CONTENT_TYPES, RecordingDetailOut, RecordingOut, file_content_type
from vtrack.archive.errors import ArchivePathError
from vtrack.db.models import User
from vtrack.db.repositories.recordings import ArchivedFile, RecordingFilter, RecordingRepository, local_day
from vtrack.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from vtrack.registry.cloud_accounts import is_admin

log = logging.getLogger(__name__)

router = APIRouter(prefix="/recordings", tags=["recordings"], responses=error_responses(401, 403, 404, 422))

_VIDEO: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file; send a Range header for a part of it (206)",
        "content": {kind: {} for kind in sorted({*CONTENT_TYPES.values(), "application/octet-stream"})},
    },
    206: {
        "description": "The requested byte range",
        "content": {kind: {} for kind in sorted({*CONTENT_TYPES.values(), "application/octet-stream"})},
    },
}


def visible_to(user: User) -> str | None:
    return None if is_admin(user) else user.id


async def find_recording(session: SessionDep, user: User, recording_id: str) -> ArchivedFile:
    item = await RecordingRepository(session).get(recording_id, visible_to(user))
    if item is None:
        raise NotFoundError(f"recording {recording_id} not found")
    return item


@router.get("")
async def list_recordings(
    user: SourcesRead,
    services: ServicesDep,
    session: SessionDep,
    source_id: Annotated[str | None, Query(max_length=36)] = None,
    camera_id: Annotated[str | None, Query(max_length=36)] = None,
    day: Annotated[
        date | None,
        Query(alias="date", description="YYYY-MM-DD: files starting on that day in the configured zone"),
    ] = None,
    start: Annotated[AwareDatetime | None, Query(alias="from", description="ISO 8601 with a zone")] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to", description="ISO 8601 with a zone")] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> PagedEnvelope[RecordingOut]:
    """Archived files, newest first (a cloud file by its modified time).

    `from`/`to` keep device files overlapping that range and cloud files modified within it; a camera
    filter keeps only that camera's device files.
    """
    try:
        start, end = (None if t is None else t.astimezone(UTC) for t in (start, end))
    except OverflowError:
        raise InvalidInputError(
            "from/to are out of range", [{"in": "query", "field": "from", "message": "out of range"}]
        ) from None
    if start is not None and end is not None and end <= start:
        raise InvalidInputError(
            "to must be after from", [{"in": "query", "field": "to", "message": "must be after from"}]
        )
    where = RecordingFilter(source_id=source_id, camera_id=camera_id, start=start, end=end)
    if day is not None:
        try:
            day_start, day_end = local_day(day, services.archive_layout.zone)
        except OverflowError:
            raise InvalidInputError(
                "date is out of range", [{"in": "query", "field": "date", "message": "out of range"}]
            ) from None
        where = RecordingFilter(source_id, camera_id, start, end, day_start, day_end)
    result = await RecordingRepository(session).search(page, page_size, where, visible_to(user))
    return paged(result, [RecordingOut.of(item) for item in result.items])


@router.get("/{recording_id}")
async def get_recording(
    recording_id: str, user: SourcesRead, session: SessionDep
) -> Envelope[RecordingDetailOut]:
    """One recording, with its neighbours for stepping through footage: the same camera's for a device
    file, the same source's (by modified time) for a cloud file."""
    item = await find_recording(session, user, recording_id)
    previous, following = await RecordingRepository(session).neighbours(item.file)
    out = RecordingDetailOut(**RecordingOut.of(item).model_dump(), previous_id=previous, next_id=following)
    return ok(out)


@router.get("/{recording_id}/video", response_class=FileResponse, responses=_VIDEO)
async def recording_video(
    recording_id: str, user: SourcesRead, services: ServicesDep, session: SessionDep
) -> FileResponse:
    """The archived file itself, seekable: Range requests get 206 with exactly those bytes."""
    item = await find_recording(session, user, recording_id)
    relative = item.file.path or ""
    try:
        path = services.archive_layout.resolve(relative)
    except ArchivePathError:
        log.warning("recording %s: its path %r leaves the archive root; refused", item.file.id, relative)
        raise PermissionDeniedError(
            f"recording {recording_id}: its file is not inside the archive, so it is not served"
        ) from None
    try:
        stat = os.stat(path)
    except OSError:
        stat = None
    if stat is None or not path.is_file():
        raise NotFoundError(f"recording {recording_id}: its file {relative} is no longer in the archive")
    return FileResponse(
        path,
        media_type=file_content_type(item),
        filename=path.name,
        stat_result=stat,
        content_disposition_type="inline",
    )

"""Read the event log: camera status changes now, more kinds as later steps add them.

Permission: cameras:read, not audit:read. Events are what the system observed about devices (a camera
went offline), which every dashboard user, viewers included, needs to see; the audit log is who did what,
for admins. Every event kind so far is about cameras; when sources emit events, filter by sources:read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from vtrack.api.deps import CamerasRead, SessionDep
from vtrack.api.envelope import PagedEnvelope, error_responses, paged
from vtrack.api.routes.health import time_range
from vtrack.api.schemas.events import EventOut
from vtrack.db.repositories.events import EventFilter, EventRepository

router = APIRouter(prefix="/events", tags=["events"], responses=error_responses(401, 403, 422))


@router.get("")
async def list_events(
    _: CamerasRead,
    session: SessionDep,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
    kind: Annotated[
        str | None, Query(max_length=64, description='Exact kind, or a prefix ending in "*" ("camera.*")')
    ] = None,
    subject_type: Annotated[str | None, Query(max_length=32)] = None,
    subject_id: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[datetime | None, Query(alias="from")] = None,
    until: Annotated[datetime | None, Query(alias="to")] = None,
) -> PagedEnvelope[EventOut]:
    """Events, newest first."""
    since, until = time_range(since, until)
    flt = EventFilter(kind or None, subject_type or None, subject_id or None, since, until)
    result = await EventRepository(session).search(flt, page, page_size)
    return paged(result, [EventOut.model_validate(e) for e in result.items])

"""One server-sent event stream per open dashboard page: camera status changes and analytics counts from
the event bus, and sync progress read from the job table (which every runner, embedded or Celery, writes),
so a page updates without reloading."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from vtrack.api.deps import ServicesDep, has_permission
from vtrack.api.schemas.sync import SyncJobOut
from vtrack.db.models import JobRun, User
from vtrack.db.repositories.jobs import JobRepository
from vtrack.db.repositories.sources import SourceRepository
from vtrack.db.types import utcnow
from vtrack.events.bus import Event
from vtrack.events.sse import KEEPALIVE, SSE_HEADERS, sse_message
from vtrack.registry.cloud_sources import can_see
from vtrack.security.permissions import Permission
from vtrack.services import Services
from vtrack.sync.service import SYNC_JOB
from vtrack.web.session import PageUser

router = APIRouter(include_in_schema=False)

POLL_SECONDS = 0.5
KEEPALIVE_SECONDS = 15.0
BUS_KINDS = {"camera.status_changed": "camera", "analytics.counts": "counts"}


def _event_data(event: Event) -> dict[str, Any]:
    return {"id": event.subject_id, "at": event.at.isoformat(), **event.payload}


def _sync_data(run: JobRun) -> dict[str, Any]:
    """The API's view of the run (GET /sync/jobs/{id}), cut to what a progress bar shows."""
    job = SyncJobOut.of(run)
    return {
        "sourceId": job.source_id,
        "jobId": job.job_id,
        "state": job.state,
        "progress": round(job.progress, 4),
        "message": job.message,
        "error": job.error,
        "segmentsDone": job.segments_done,
        "segmentsTotal": job.segments_total,
    }


class SyncWatch:
    """Reads the sync runs a user may see and reports each one's figures when they change."""

    def __init__(self, services: Services, user: User) -> None:
        self.services = services
        self.user = user
        self.seen: dict[str, tuple[str, float, str | None]] = {}

    async def changes(self) -> list[dict[str, Any]]:
        async with self.services.database.session() as session:
            runs = await JobRepository(session).live(SYNC_JOB, utcnow() - timedelta(seconds=30))
            sources = SourceRepository(session)
            out = []
            for run in runs:
                data = _sync_data(run)
                key = (data["state"], data["progress"], data["message"])
                if self.seen.get(run.id) == key:
                    continue
                source = await sources.get(data["sourceId"]) if data["sourceId"] else None
                if source is None or not can_see(self.user, source):
                    continue
                self.seen[run.id] = key
                out.append(data)
        return out


@router.get("/ui/stream")
async def ui_stream(request: Request, user: PageUser, services: ServicesDep) -> StreamingResponse:
    kinds = [
        kind
        for kind in BUS_KINDS
        if kind != "analytics.counts" or has_permission(user, Permission.ANALYTICS_READ)
    ]
    subscription = services.events.subscribe(kinds, queue_size=512)
    watch = SyncWatch(services, user) if has_permission(user, Permission.SOURCES_READ) else None

    async def events() -> AsyncIterator[bytes]:
        try:
            yield b"retry: 3000\n\n"
            next_poll = 0.0
            quiet_since = time.monotonic()
            while not await request.is_disconnected():
                now = time.monotonic()
                if watch is not None and now >= next_poll:
                    for data in await watch.changes():
                        yield sse_message("sync", data)
                    next_poll = now + POLL_SECONDS
                try:
                    event = await subscription.get(within=POLL_SECONDS)
                except TimeoutError:
                    if time.monotonic() - quiet_since >= KEEPALIVE_SECONDS:
                        quiet_since = time.monotonic()
                        yield KEEPALIVE
                    continue
                quiet_since = time.monotonic()
                yield sse_message(BUS_KINDS[event.kind], _event_data(event))
        finally:
            subscription.close()

    return StreamingResponse(events(), media_type="text/event-stream", headers=SSE_HEADERS)

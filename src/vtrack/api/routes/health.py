"""Camera health: current state and history, check-now, and the uptime report.

Reading health needs cameras:read; a check-now needs cameras:write because it opens a stream on the
camera (a viewer slot on devices that allow four) and changes its recorded status.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from vtrack.api.deps import CamerasRead, CamerasWrite, ServicesDep, SessionDep
from vtrack.api.envelope import Envelope, PageMeta, error_responses, ok
from vtrack.api.schemas.health import (
    CameraHealthEnvelope,
    CameraHealthOut,
    CameraReport,
    CheckOut,
    HealthReport,
)
from vtrack.db.repositories.cameras import CameraRepository
from vtrack.db.repositories.health import HealthRepository
from vtrack.db.types import utcnow
from vtrack.errors import InvalidInputError, NotFoundError
from vtrack.health.report import build_report

router = APIRouter(tags=["health"], responses=error_responses(401, 403, 422))


def as_utc(value: datetime | None, field: str) -> datetime | None:
    """Times without a zone are read as UTC, the zone everything is stored in."""
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00-05:00 is past the last representable UTC time
        raise InvalidInputError(
            f"{field}: out of range", [{"in": "query", "field": field, "message": "out of range"}]
        ) from None


def time_range(since: datetime | None, until: datetime | None) -> tuple[datetime | None, datetime | None]:
    since, until = as_utc(since, "from"), as_utc(until, "to")
    if since is not None and until is not None and since >= until:
        raise InvalidInputError(
            "from must be before to", [{"in": "query", "field": "from", "message": "must be before to"}]
        )
    return since, until


@router.get("/cameras/{camera_id}/health", responses=error_responses(404))
async def camera_health(
    camera_id: str,
    _: CamerasRead,
    session: SessionDep,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
    since: Annotated[
        datetime | None, Query(alias="from", description="Checks at or after (UTC if no zone)")
    ] = None,
    until: Annotated[datetime | None, Query(alias="to", description="Checks before (UTC if no zone)")] = None,
) -> CameraHealthEnvelope:
    """The camera's current health (status, consecutive counts, last check) and its checks, newest first."""
    camera = await CameraRepository(session).get(camera_id)
    if camera is None:
        raise NotFoundError(f"camera {camera_id} not found")
    since, until = time_range(since, until)
    history = await HealthRepository(session).history(camera_id, page, page_size, since, until)
    return CameraHealthEnvelope(
        data=CameraHealthOut.of(camera, history.items),
        meta=PageMeta(
            page=history.page,
            page_size=history.page_size,
            total=history.total,
            total_pages=history.total_pages,
        ),
    )


@router.post("/cameras/{camera_id}/health/check", responses=error_responses(404))
async def check_camera_now(camera_id: str, _: CamerasWrite, services: ServicesDep) -> Envelope[CheckOut]:
    """Check the camera now (at most health_timeout_seconds) and record it like a scheduled check."""
    return ok(CheckOut.of(await services.health.check_camera(camera_id)))


@router.get("/health/report")
async def health_report(
    _: CamerasRead,
    session: SessionDep,
    hours: Annotated[int, Query(ge=1, le=24 * 90)] = 24,
    group_id: Annotated[str | None, Query(max_length=36)] = None,
) -> Envelope[HealthReport]:
    """Per active camera over the last `hours`: uptime, checks, latency (avg, p95), fps, state changes."""
    report = await build_report(session, until=utcnow(), hours=hours, group_id=group_id)
    return ok(
        HealthReport(
            since=report.since,
            until=report.until,
            hours=hours,
            cameras=len(report.cameras),
            checks=report.checks,
            uptime_percent=report.uptime_percent,
            by_status=report.by_status,
            items=[
                CameraReport(
                    camera_id=c.row.camera_id,
                    name=c.row.name,
                    status=c.row.status,
                    last_checked_at=c.row.last_checked_at,
                    checks=c.row.checks,
                    uptime_percent=c.uptime_percent,
                    avg_latency_ms=_round(c.row.avg_latency_ms),
                    p95_latency_ms=_round(c.row.p95_latency_ms),
                    avg_fps=_round(c.row.avg_fps),
                    state_changes=c.state_changes,
                )
                for c in report.cameras
            ],
        )
    )


def _round(value: float | None) -> float | None:
    return round(value, 2) if value is not None else None

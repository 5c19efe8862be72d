"""The health report: per camera uptime, latency and frame rate over the last hours, plus totals.

Uptime is the share of checks that opened the stream (degraded counts as up: video was there). With a
fixed interval the share of checks is the share of time, without having to reconstruct intervals from
timestamps; a camera checked less often during a stretch (the box was down) simply weighs less there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from vtrack.db.repositories.events import EventRepository
from vtrack.db.repositories.health import HealthRepository, ReportRow
from vtrack.health.monitor import STATUS_CHANGED


@dataclass(frozen=True)
class CameraUptime:
    row: ReportRow
    uptime_percent: float | None
    state_changes: int


@dataclass(frozen=True)
class Report:
    since: datetime
    until: datetime
    cameras: list[CameraUptime]
    by_status: dict[str, int]
    checks: int
    uptime_percent: float | None


def percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


async def build_report(
    session: AsyncSession, *, until: datetime, hours: int, group_id: str | None = None
) -> Report:
    since = until - timedelta(hours=hours)
    rows = await HealthRepository(session).report(since, group_id)
    changes = await EventRepository(session).count_by_subject(STATUS_CHANGED, "camera", since)
    by_status: dict[str, int] = {}
    for row in rows:
        by_status[row.status] = by_status.get(row.status, 0) + 1
    checks = sum(row.checks for row in rows)
    connected = sum(row.connected for row in rows)
    return Report(
        since=since,
        until=until,
        cameras=[
            CameraUptime(row, percent(row.connected, row.checks), changes.get(row.camera_id, 0))
            for row in rows
        ],
        by_status=dict(sorted(by_status.items())),
        checks=checks,
        uptime_percent=percent(connected, checks),
    )

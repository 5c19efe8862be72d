"""What the analytics pages show, read through the repository and rollup that GET /analytics/counts uses,
so a figure on a card and the API's figure for the same day can never disagree.

"Today" is the configured timezone's day: from local midnight to the next one, as the API's default range.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from vtrack.api.schemas.analytics import ChannelHealth
from vtrack.db.repositories.analytics import AnalyticsRepository, CountBucket, rollup, whole_hour_offsets
from vtrack.web.charts import ChartBucket

ChartRange = Literal["today", "week"]
CHART_RANGES: tuple[ChartRange, ...] = ("today", "week")
WEEK_DAYS = 7

# Worker states (analytics/live) -> the dashboard's badge classes.
_BADGES = {
    "running": "running",
    "starting": "queued",
    "reconnecting": "degraded",
    "failed": "failed",
    "stopped": "offline",
}


def local_midnight(day: datetime, zone: tzinfo) -> datetime:
    return datetime.combine(day.astimezone(zone).date(), time(0), tzinfo=zone)


def today_range(now: datetime, zone: tzinfo) -> tuple[datetime, datetime]:
    start = local_midnight(now, zone)
    return start, start + timedelta(days=1)


@dataclass
class ChannelFigures:
    """One channel's counts over a range: per line, per zone, and who came in."""

    lines: list[CountBucket] = field(default_factory=list)
    zones: list[CountBucket] = field(default_factory=list)

    @property
    def total_in(self) -> int:
        return sum(row.in_count for row in self.lines)

    @property
    def total_out(self) -> int:
        return sum(row.out_count for row in self.lines)

    @property
    def zone_entries(self) -> int:
        return sum(row.in_count for row in self.zones)

    @property
    def gender(self) -> dict[str, int]:
        """Over the people counted in across lines; a channel with zones only reports its zone entries."""
        rows = self.lines or self.zones
        male = sum(row.male_in for row in rows)
        female = sum(row.female_in for row in rows)
        return {"male": male, "female": female, "unknown": sum(r.in_count for r in rows) - male - female}


@dataclass(frozen=True)
class LineRow:
    name: str
    entered: int
    exited: int


def line_rows(configured: Iterable[dict[str, Any]], figures: ChannelFigures | None) -> list[LineRow]:
    """Every line drawn on the channel (zero until someone crosses), then any counted line that has since
    been renamed or removed, so today's numbers never silently disappear."""
    counted = {row.name: row for row in figures.lines} if figures else {}
    names = [str(spec.get("name", "")) for spec in configured]
    names += [name for name in counted if name not in names]
    rows = []
    for name in names:
        row = counted.get(name)
        rows.append(LineRow(name, row.in_count if row else 0, row.out_count if row else 0))
    return rows


async def _rows(
    session: AsyncSession, since: datetime, until: datetime, channel_id: str | None, zone: tzinfo
) -> list[CountBucket]:
    by_hour = whole_hour_offsets(zone, since, until)
    return await AnalyticsRepository(session).counts(since, until, channel_id, by_hour)


async def today_figures(
    session: AsyncSession, now: datetime, zone: tzinfo, channel_id: str | None = None
) -> dict[str, ChannelFigures]:
    """Channel id -> today's figures; channels without counts are absent."""
    since, until = today_range(now, zone)
    _, totals = rollup(await _rows(session, since, until, channel_id, zone), "hour", zone)
    figures: dict[str, ChannelFigures] = {}
    for row in totals:
        entry = figures.setdefault(row.channel_id or "", ChannelFigures())
        (entry.lines if row.kind == "line" else entry.zones).append(row)
    return figures


@dataclass(frozen=True)
class ChartSlot:
    start: datetime  # aware, in the configured zone
    label: str
    title: str


def chart_slots(chart: ChartRange, now: datetime, zone: tzinfo) -> tuple[list[ChartSlot], datetime, datetime]:
    """The buckets of a range, in order, with their local labels: today's hours (cut on the UTC hour, as
    the API's buckets are, so a DST day has 23 or 25) or the last seven local days."""
    if chart == "today":
        since, until = today_range(now, zone)
        slots = []
        at = since.astimezone(UTC)
        while at < until:
            local = at.astimezone(zone)
            end = (at + timedelta(hours=1)).astimezone(zone)
            slots.append(ChartSlot(local, local.strftime("%H"), f"{local:%H:%M}–{end:%H:%M}"))
            at += timedelta(hours=1)
        return slots, since, until
    today = local_midnight(now, zone).date()
    days = [today - timedelta(days=n) for n in range(WEEK_DAYS - 1, -1, -1)]
    slots = [
        ChartSlot(datetime.combine(day, time(0), tzinfo=zone), f"{day:%d/%m}", f"{day:%Y-%m-%d}")
        for day in days
    ]
    return slots, slots[0].start, datetime.combine(today + timedelta(days=1), time(0), tzinfo=zone)


async def chart_buckets(
    session: AsyncSession, chart: ChartRange, now: datetime, zone: tzinfo, channel_id: str | None = None
) -> list[ChartBucket]:
    """Line crossings in and out per bucket (zones are not crossings and stay out of the bars)."""
    slots, since, until = chart_slots(chart, now, zone)
    size: Literal["hour", "day"] = "hour" if chart == "today" else "day"
    rows, _ = rollup(await _rows(session, since, until, channel_id, zone), size, zone)
    sums: dict[datetime, list[int]] = {}
    for row in rows:
        if row.kind == "line" and row.bucket is not None:
            entry = sums.setdefault(row.bucket.astimezone(UTC), [0, 0])
            entry[0] += row.in_count
            entry[1] += row.out_count
    out = []
    for slot in slots:
        entered, exited = sums.get(slot.start.astimezone(UTC), [0, 0])
        out.append(ChartBucket(slot.label, slot.title, entered, exited))
    return out


@dataclass(frozen=True)
class HealthView:
    state: str  # a worker state, or "inactive" (disabled) / "idle" (enabled, no worker yet)
    badge: str
    fps_in: float | None = None
    fps_out: float | None = None
    latency_p95_ms: float | None = None
    error: str | None = None
    run_id: str | None = None  # a new run means a new worker: the preview stream must reconnect

    @property
    def running(self) -> bool:
        return self.state == "running"


def health_view(health: dict[str, Any] | None, enabled: bool) -> HealthView:
    if health is None:
        return HealthView("idle" if enabled else "inactive", "")
    parsed = ChannelHealth.model_validate(health)
    return HealthView(
        parsed.state,
        _BADGES.get(parsed.state, ""),
        parsed.fps_in,
        parsed.fps_out,
        parsed.latency_p95_ms,
        parsed.error,
        parsed.run_id,
    )


def spec_points(specs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stored lines/zones as the editor lists them: name, points, and whether they are frame fractions
    (pixel definitions from a site file or the CLI are converted in the browser once the frame is loaded)."""
    out = []
    for spec in specs:
        points: Sequence[Sequence[float]] = spec.get("points") or []
        fractions = all(0.0 <= float(v) <= 1.0 for point in points for v in point)
        out.append({**spec, "fractions": fractions})
    return out

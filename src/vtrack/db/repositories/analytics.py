"""Analytics queries: live channels, and the runs, tracks, events and per-minute counts the sink wrote.

Counts are summed over runs in SQL and bucketed by the caller's timezone in Python: day boundaries are
local midnights (DST days are 23 or 25 hours), which neither SQLite nor a portable SQL expression can do.
For hour and day buckets the database first sums to UTC hours, which is exact whenever every offset the
zone takes in the range is a whole number of hours, so Python sees at most 24 rows per name and day.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any, Literal

from sqlalchemy import ColumnElement, func, or_, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from vtrack.analytics.site_config import SiteConfig
from vtrack.db.models import AnalyticsChannel, AnalyticsCount, AnalyticsEvent, AnalyticsRun, AnalyticsTrack
from vtrack.db.repositories.paging import Page, paginate
from vtrack.db.types import UTCDateTime

BucketSize = Literal["minute", "hour", "day"]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class SiteImport:
    external_id: str
    name: str
    action: Literal["create", "update"]
    channel: AnalyticsChannel | None  # None on a dry run that would create it


class ChannelRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, channel_id: str) -> AnalyticsChannel | None:
        return await self.session.get(AnalyticsChannel, channel_id)

    async def search(
        self, page: int, page_size: int, q: str | None = None, site: str | None = None
    ) -> Page[AnalyticsChannel]:
        query = select(AnalyticsChannel).order_by(func.lower(AnalyticsChannel.name), AnalyticsChannel.id)
        if q:
            pattern = f"%{_escape_like(q.lower())}%"
            query = query.where(
                or_(
                    func.lower(AnalyticsChannel.name).like(pattern, escape="\\"),
                    func.lower(AnalyticsChannel.site).like(pattern, escape="\\"),
                    func.lower(AnalyticsChannel.external_id).like(pattern, escape="\\"),
                )
            )
        if site:
            query = query.where(AnalyticsChannel.site == site)
        return await paginate(self.session, query, page, page_size)

    async def name_taken(self, name: str, except_id: str | None = None) -> bool:
        query = select(AnalyticsChannel.id).where(func.lower(AnalyticsChannel.name) == name.strip().lower())
        if except_id is not None:
            query = query.where(AnalyticsChannel.id != except_id)
        return (await self.session.execute(query.limit(1))).first() is not None

    async def of_site(self, site: str) -> dict[str, AnalyticsChannel]:
        """The site's channels by external id: what a site file import updates rather than creates."""
        query = select(AnalyticsChannel).where(
            AnalyticsChannel.site == site, AnalyticsChannel.external_id.is_not(None)
        )
        return {str(c.external_id): c for c in (await self.session.execute(query)).scalars()}

    async def ids_by_name(self, names: Iterable[str]) -> dict[str, str]:
        """Lower-cased name -> id, for the given names that exist."""
        lowered = {n.strip().lower() for n in names}
        if not lowered:
            return {}
        query = select(func.lower(AnalyticsChannel.name), AnalyticsChannel.id).where(
            func.lower(AnalyticsChannel.name).in_(lowered)
        )
        return {str(name): str(cid) for name, cid in (await self.session.execute(query)).all()}

    async def name_conflicts(self, site: SiteConfig) -> list[int]:
        """Positions of the site's channels whose name another channel (not the one updated) holds."""
        current = await self.of_site(site.site)
        owners = await self.ids_by_name(config.name for config in site.channels)
        return [
            index
            for index, config in enumerate(site.channels)
            if (owner := owners.get(config.name.lower())) is not None
            and (config.external_id not in current or owner != current[config.external_id].id)
        ]

    async def upsert_site(
        self, site: SiteConfig, encrypt: Callable[[str | None], str | None], dry_run: bool = False
    ) -> list[SiteImport]:
        """Create or update the site's channels, matched by (site, external id); flushes unless a dry run.

        The file is the truth for the connection (URL, credentials; a camera link is dropped); lines,
        zones and enabled change only where the file gives them, so lines drawn in the UI survive a
        re-import. Channels of the site missing from the file are left alone.
        """
        current = await self.of_site(site.site)
        done: list[SiteImport] = []
        for config in site.channels:
            channel = current.get(config.external_id)
            action: Literal["create", "update"] = "create" if channel is None else "update"
            if not dry_run:
                if channel is None:
                    channel = AnalyticsChannel(
                        site=site.site, external_id=config.external_id, lines=[], zones=[]
                    )
                    self.add(channel)
                channel.name, channel.camera_id, channel.url = config.name, None, config.url
                channel.username, channel.password_encrypted = config.username, encrypt(config.password)
                if config.lines is not None:
                    channel.lines = [spec.to_dict() for spec in config.lines]
                if config.zones is not None:
                    channel.zones = [spec.to_dict() for spec in config.zones]
                if config.enabled is not None or action == "create":
                    channel.enabled = config.enabled is not False
            done.append(SiteImport(config.external_id, config.name, action, channel))
        if not dry_run:
            await self.session.flush()
        return done

    def add(self, channel: AnalyticsChannel) -> None:
        self.session.add(channel)

    async def delete(self, channel: AnalyticsChannel) -> None:
        await self.session.delete(channel)


@dataclass(frozen=True)
class EventFilter:
    channel_id: str | None = None
    run_id: str | None = None
    kind: str | None = None
    name: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class CountBucket:
    """Counts of one line or zone of one channel in one bucket (or, with bucket None, a whole range)."""

    bucket: datetime | None
    channel_id: str | None
    kind: str
    name: str
    in_count: int = 0
    out_count: int = 0
    dwell_total: float = 0.0
    male_in: int = 0
    female_in: int = 0

    def plus(self, other: CountBucket) -> CountBucket:
        return CountBucket(
            self.bucket,
            self.channel_id,
            self.kind,
            self.name,
            self.in_count + other.in_count,
            self.out_count + other.out_count,
            self.dwell_total + other.dwell_total,
            self.male_in + other.male_in,
            self.female_in + other.female_in,
        )


class AnalyticsRepository:
    """Reads what runs recorded; the sink writes it."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def run(self, run_id: str) -> AnalyticsRun | None:
        return await self.session.get(AnalyticsRun, run_id)

    async def runs(
        self, page: int, page_size: int, channel_id: str | None = None, status: str | None = None
    ) -> Page[AnalyticsRun]:
        query = select(AnalyticsRun).order_by(AnalyticsRun.started_at.desc(), AnalyticsRun.id)
        if channel_id:
            query = query.where(AnalyticsRun.channel_id == channel_id)
        if status:
            query = query.where(AnalyticsRun.status == status)
        return await paginate(self.session, query, page, page_size)

    async def run_sizes(self, run_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
        """Run id -> (tracks, events); two grouped counts for a whole page of runs."""
        if not run_ids:
            return {}
        sizes = {run_id: [0, 0] for run_id in run_ids}
        columns = (AnalyticsTrack.run_id, AnalyticsEvent.run_id)
        for position, column in enumerate(columns):
            query = select(column, func.count()).where(column.in_(run_ids)).group_by(column)
            for run_id, count in (await self.session.execute(query)).all():
                sizes[str(run_id)][position] = int(count)
        return {run_id: (tracks, events) for run_id, (tracks, events) in sizes.items()}

    async def tracks(self, run_id: str, page: int, page_size: int) -> Page[AnalyticsTrack]:
        query = (
            select(AnalyticsTrack).where(AnalyticsTrack.run_id == run_id).order_by(AnalyticsTrack.track_id)
        )
        return await paginate(self.session, query, page, page_size)

    async def events(self, flt: EventFilter, page: int, page_size: int) -> Page[AnalyticsEvent]:
        query = select(AnalyticsEvent).order_by(AnalyticsEvent.at.desc(), AnalyticsEvent.id.desc())
        if flt.channel_id:
            query = query.where(AnalyticsEvent.channel_id == flt.channel_id)
        if flt.run_id:
            query = query.where(AnalyticsEvent.run_id == flt.run_id)
        if flt.kind:
            query = query.where(AnalyticsEvent.kind == flt.kind)
        if flt.name:
            query = query.where(AnalyticsEvent.name == flt.name)
        if flt.since is not None:
            query = query.where(AnalyticsEvent.at >= flt.since)
        if flt.until is not None:
            query = query.where(AnalyticsEvent.at < flt.until)
        return await paginate(self.session, query, page, page_size)

    async def counts(
        self, since: datetime, until: datetime, channel_id: str | None = None, by_hour: bool = False
    ) -> list[CountBucket]:
        """Per channel, line/zone and minute (or UTC hour), summed over the runs; bucket is UTC."""
        slot = self._hour_of(AnalyticsCount.minute) if by_hour else AnalyticsCount.minute
        c = AnalyticsCount
        query = (
            select(
                slot,
                c.channel_id,
                c.kind,
                c.name,
                func.sum(c.in_count),
                func.sum(c.out_count),
                func.sum(c.dwell_total),
                func.sum(c.male_in),
                func.sum(c.female_in),
            )
            .where(c.minute >= since, c.minute < until)
            .group_by(slot, c.channel_id, c.kind, c.name)
        )
        if channel_id:
            query = query.where(c.channel_id == channel_id)
        rows = (await self.session.execute(query)).all()
        return [
            CountBucket(
                at, cid, kind, name, int(i or 0), int(o or 0), float(d or 0), int(m or 0), int(f or 0)
            )
            for at, cid, kind, name, i, o, d, m, f in rows
        ]

    def _hour_of(self, column: Any) -> ColumnElement[datetime]:
        if self.session.get_bind().dialect.name == "sqlite":  # stored as "YYYY-MM-DD HH:MM:SS.ffffff" UTC
            return type_coerce(func.strftime("%Y-%m-%d %H:00:00", column), UTCDateTime())
        return type_coerce(func.date_trunc("hour", column, "UTC"), UTCDateTime())


def whole_hour_offsets(zone: tzinfo, since: datetime, until: datetime) -> bool:
    """Whether the zone's UTC offset is a whole number of hours throughout [since, until), sampled every
    six hours (offset changes are months apart) and at the end."""
    at = since
    while True:
        offset = zone.utcoffset(at.astimezone(zone)) or timedelta(0)
        if offset % timedelta(hours=1):
            return False
        if at >= until:
            return True
        at = min(at + timedelta(hours=6), until)


def bucket_start(instant: datetime, size: BucketSize, zone: tzinfo) -> datetime:
    """The start of the bucket holding `instant`, as an aware time in `zone`.

    Hours are cut on the UTC instant, so the repeated hour when DST ends stays two buckets; days start
    at local midnight (or the first local time of a day whose midnight is skipped).
    """
    local = instant.astimezone(zone)
    if size == "minute":
        return (instant - timedelta(seconds=local.second, microseconds=local.microsecond)).astimezone(zone)
    if size == "hour":
        into = timedelta(minutes=local.minute, seconds=local.second, microseconds=local.microsecond)
        return (instant - into).astimezone(zone)
    midnight = datetime.combine(local.date(), time(0), tzinfo=zone)
    return midnight.astimezone(UTC).astimezone(zone)


def rollup(
    rows: Iterable[CountBucket], size: BucketSize, zone: tzinfo
) -> tuple[list[CountBucket], list[CountBucket]]:
    """(per bucket, per channel/kind/name over all buckets), both sorted."""
    buckets: dict[tuple[datetime, str, str, str], CountBucket] = {}
    totals: dict[tuple[str, str, str], CountBucket] = {}
    for row in rows:
        if row.bucket is None:
            continue
        start = bucket_start(row.bucket, size, zone)
        key = (start.astimezone(UTC), row.channel_id or "", row.kind, row.name)
        empty = CountBucket(start, row.channel_id, row.kind, row.name)
        buckets[key] = buckets.get(key, empty).plus(row)
        total_key = key[1:]
        empty_total = CountBucket(None, row.channel_id, row.kind, row.name)
        totals[total_key] = totals.get(total_key, empty_total).plus(row)
    return [buckets[k] for k in sorted(buckets)], [totals[k] for k in sorted(totals)]

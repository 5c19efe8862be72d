"""What the dashboard and camera pages show, read through the repositories and schemas the API uses.

Page query strings come from the address bar, so they are read leniently: a value the API would answer
with a 422 here falls back to its default, and the page still renders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import cast, get_args
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from vtrack.api.schemas.cameras import CameraOut, CameraSummary, GroupOut
from vtrack.db.repositories.analytics import AnalyticsRepository, rollup, whole_hour_offsets
from vtrack.db.repositories.cameras import CameraFilter, CameraRepository, CameraSort, GroupRepository
from vtrack.db.repositories.paging import Page
from vtrack.db.repositories.snapshots import SnapshotRepository
from vtrack.db.types import utcnow
from vtrack.registry.schemas import CameraStatus
from vtrack.registry.snapshots import snapshot_service
from vtrack.services import Services

SORTS: tuple[str, ...] = get_args(CameraSort)
STATUSES: tuple[str, ...] = tuple(s.value for s in CameraStatus)
PAGE_SIZES: tuple[int, ...] = (10, 20, 50, 100)
DEFAULT_PAGE_SIZE = 20
MAX_GROUPS = 500  # the API's largest page: the select lists every group a site realistically has
# The grid re-renders every 30 s; links signed from the quarter hour stay the same URL meanwhile, so the
# browser keeps the cached thumbnail instead of fetching it again (a link still lives 45-60 minutes).
LINK_STEP_MINUTES = 15


@dataclass(frozen=True)
class CameraTile:
    camera: CameraOut
    thumb_url: str | None
    captured_at: datetime | None


@dataclass(frozen=True)
class Summary:
    """The API's /cameras/summary, with the figures the dashboard shows as cards."""

    data: CameraSummary

    def count(self, status: str) -> int:
        return self.data.by_status.get(status, 0)


@dataclass(frozen=True)
class PeopleToday:
    since: datetime
    until: datetime
    entered: int
    exited: int
    zone_entries: int


@dataclass(frozen=True)
class CameraQuery:
    q: str = ""
    status: str = ""
    group: str = ""
    active: bool = False
    sort: CameraSort = "name"
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE

    @classmethod
    def parse(
        cls,
        q: str | None,
        status: str | None,
        group: str | None,
        active: str | None,
        sort: str | None,
        page: str | None,
        page_size: str | None,
    ) -> CameraQuery:
        return cls(
            q=(q or "").strip()[:255],
            status=status if status in STATUSES else "",
            group=(group or "")[:36],
            active=active in ("1", "true", "on"),
            sort=cast(CameraSort, sort) if sort in SORTS else "name",
            page=_int(page, 1, 1, 1_000_000),
            page_size=_int(page_size, DEFAULT_PAGE_SIZE, 1, 500),
        )

    def params(self, **changes: str | int) -> dict[str, str | int]:
        """The parameters that differ from the defaults, so links and the address bar stay short."""
        values: dict[str, str | int] = {
            "q": self.q,
            "status": self.status,
            "group": self.group,
            "active": "1" if self.active else "",
            "sort": self.sort,
            "page": self.page,
            "page_size": self.page_size,
        }
        values.update(changes)
        defaults: dict[str, str | int] = {"sort": "name", "page": 1, "page_size": DEFAULT_PAGE_SIZE}
        return {k: v for k, v in values.items() if v != "" and v != defaults.get(k)}

    def url(self, base: str, **changes: str | int) -> str:
        query = urlencode(self.params(**changes))
        return f"{base}?{query}" if query else base


def _int(raw: str | None, default: int, low: int, high: int) -> int:
    try:
        value = int(raw or default)
    except ValueError:
        return default
    return min(max(value, low), high)


async def summary(session: AsyncSession) -> Summary:
    return Summary(CameraSummary.model_validate(await CameraRepository(session).summary()))


async def camera_tiles(services: Services, session: AsyncSession) -> list[CameraTile]:
    """Every camera with its newest picture, linked as the API's snapshot listing links it."""
    snapshots = SnapshotRepository(session)
    links = snapshot_service(services, session)
    now = utcnow()
    signed_at = now - timedelta(
        minutes=now.minute % LINK_STEP_MINUTES, seconds=now.second, microseconds=now.microsecond
    )
    tiles = []
    cameras = await CameraRepository(session).all()
    newest = await snapshots.latest_of([camera.id for camera in cameras])
    for camera in cameras:
        latest = newest.get(camera.id)
        url = None
        if latest is not None:
            url = links.link(latest, thumbnail=latest.thumbnail_path is not None, now=signed_at)
        tiles.append(CameraTile(CameraOut.of(camera), url, latest.captured_at if latest else None))
    return tiles


async def people_today(session: AsyncSession, zone: tzinfo, now: datetime) -> PeopleToday:
    """In and out over every channel since local midnight, summed as the API's /analytics/counts totals.

    Line crossings are the people counted in and out; zone entries are shown apart, since a person who
    crosses the door line and then enters a zone would otherwise count twice.
    """
    local = now.astimezone(zone)
    since = datetime(local.year, local.month, local.day, tzinfo=zone)
    until = since + timedelta(days=1)
    rows = await AnalyticsRepository(session).counts(
        since, until, None, whole_hour_offsets(zone, since, until)
    )
    _, totals = rollup(rows, "hour", zone)
    lines = [t for t in totals if t.kind == "line"]
    return PeopleToday(
        since=since,
        until=until,
        entered=sum(t.in_count for t in lines),
        exited=sum(t.out_count for t in lines),
        zone_entries=sum(t.in_count for t in totals if t.kind == "zone"),
    )


async def camera_page(session: AsyncSession, query: CameraQuery) -> Page[CameraOut]:
    """The API's listing for these filters; a page past the end shows the last one."""
    flt = CameraFilter(
        group_id=query.group or None, status=query.status or None, active_only=query.active, q=query.q or None
    )
    repo = CameraRepository(session)
    result = await repo.search(flt, query.page, query.page_size, query.sort)
    if not result.items and result.total and query.page > result.total_pages:
        result = await repo.search(flt, result.total_pages, query.page_size, query.sort)
    return Page(
        items=[CameraOut.of(c) for c in result.items],
        page=result.page,
        page_size=result.page_size,
        total=result.total,
    )


async def groups(session: AsyncSession) -> list[GroupOut]:
    repo = GroupRepository(session)
    result = await repo.search(1, MAX_GROUPS)
    counts = await repo.camera_counts([g.id for g in result.items])
    return [GroupOut.of(g, counts.get(g.id, 0)) for g in result.items]

"""People analytics: live channels (CRUD and site-file import), counts, events, runs and tracks.

Every channel write schedules the live manager's `apply` as a background task, which runs after the
response and so after the commit: the manager re-reads the row and starts, restarts or stops its worker.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, BackgroundTasks, Body, Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from vtrack.analytics.site_config import (
    FieldProblem,
    SiteConfigError,
    parse_lines,
    parse_site,
    parse_zones,
)
from vtrack.api.deps import AnalyticsRead, AnalyticsWrite, AuditorDep, ServicesDep, SessionDep
from vtrack.api.envelope import Envelope, PagedEnvelope, error_responses, ok, paged
from vtrack.api.routes.health import time_range
from vtrack.api.schemas.analytics import (
    SITE_EXAMPLE,
    AnalyticsEventOut,
    AnalyticsRunOut,
    AnalyticsTrackOut,
    Bucket,
    ChannelCreate,
    ChannelImportOut,
    ChannelOut,
    ChannelUpdate,
    CountOut,
    CountsOut,
    EventKind,
    ImportedChannel,
)
from vtrack.db.models import AnalyticsChannel, AnalyticsRun, Camera
from vtrack.db.repositories.analytics import (
    AnalyticsRepository,
    ChannelRepository,
    EventFilter,
    rollup,
    whole_hour_offsets,
)
from vtrack.errors import ConflictError, InvalidInputError, NotFoundError
from vtrack.registry.analytics_channels import encrypt_password
from vtrack.registry.cameras import split_credentials
from vtrack.services import Services

router = APIRouter(prefix="/analytics", tags=["analytics"], responses=error_responses(401, 403, 422))
Page = Annotated[int, Query(ge=1, le=1_000_000)]
PageSize = Annotated[int, Query(ge=1, le=500)]
Since = Annotated[datetime | None, Query(alias="from", description="At or after (UTC if no zone)")]
Until = Annotated[datetime | None, Query(alias="to", description="Before (UTC if no zone)")]
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)
MAX_RANGE = {"minute": timedelta(days=7), "hour": timedelta(days=93), "day": timedelta(days=3700)}


def _invalid(problems: list[FieldProblem], where: str = "body") -> InvalidInputError:
    first = problems[0]
    more = f" ({len(problems)} problems)" if len(problems) > 1 else ""
    details = [{"in": where, "field": p.field, "message": p.message} for p in problems]
    return InvalidInputError(f"{first.field}: {first.message}{more}", details)


def _specs(lines: list[dict[str, Any]] | None, zones: list[dict[str, Any]] | None) -> dict[str, Any]:
    """The lines and zones given, validated and normalised for storage; all problems in one 422."""
    changes: dict[str, Any] = {}
    problems: list[FieldProblem] = []
    if lines is not None:
        line_specs, found = parse_lines(lines)
        changes["lines"] = [spec.to_dict() for spec in line_specs]
        problems += found
    if zones is not None:
        zone_specs, found = parse_zones(zones)
        changes["zones"] = [spec.to_dict() for spec in zone_specs]
        problems += found
    if problems:
        raise _invalid(problems)
    return changes


async def _check_source(
    session: AsyncSession, camera_id: str | None, url: str | None, username: str | None, password: str | None
) -> None:
    problems = []
    if camera_id is not None and url is not None:
        problems.append(FieldProblem("url", "give camera_id or url, not both"))
    elif camera_id is None and url is None:
        problems.append(FieldProblem("url", "give camera_id (a registered camera) or url"))
    elif camera_id is not None:
        for field, value in (("username", username), ("password", password)):
            if value is not None:
                problems.append(FieldProblem(field, "not used with camera_id: the camera's credentials are"))
        if await session.get(Camera, camera_id) is None:
            problems.append(FieldProblem("camera_id", f"no camera with id {camera_id}"))
    if problems:
        raise _invalid(problems)


async def _check_name(session: AsyncSession, name: str, except_id: str | None = None) -> None:
    if await ChannelRepository(session).name_taken(name, except_id):
        raise ConflictError(
            f"an analytics channel named {name!r} already exists",
            [{"field": "name", "message": "already taken"}],
        )


async def _channel(session: AsyncSession, channel_id: str) -> AnalyticsChannel:
    channel = await ChannelRepository(session).get(channel_id)
    if channel is None:
        raise NotFoundError(f"analytics channel {channel_id} not found")
    return channel


def _out(services: Services, channel: AnalyticsChannel) -> ChannelOut:
    return ChannelOut.of(channel, services.analytics.health().get(channel.id))


@router.get("/channels")
async def list_channels(
    _: AnalyticsRead,
    services: ServicesDep,
    session: SessionDep,
    page: Page = 1,
    page_size: PageSize = 20,
    q: Annotated[str | None, Query(max_length=255, description="In name, site and external id")] = None,
    site: Annotated[str | None, Query(max_length=255)] = None,
) -> PagedEnvelope[ChannelOut]:
    result = await ChannelRepository(session).search(page, page_size, q or None, site or None)
    health = services.analytics.health()
    return paged(result, [ChannelOut.of(c, health.get(c.id)) for c in result.items])


@router.post("/channels", status_code=status.HTTP_201_CREATED, responses=error_responses(409))
async def create_channel(
    body: ChannelCreate,
    _: AnalyticsWrite,
    services: ServicesDep,
    session: SessionDep,
    audit: AuditorDep,
    background: BackgroundTasks,
) -> Envelope[ChannelOut]:
    specs = _specs(body.lines, body.zones)
    await _check_source(session, body.camera_id, body.url, body.username, body.password)
    await _check_name(session, body.name)
    url, username, password = None, None, None
    if body.url is not None:
        url, username, password = split_credentials(body.url, body.username, body.password)
    channel = AnalyticsChannel(
        name=body.name,
        camera_id=body.camera_id,
        url=url,
        username=username,
        password_encrypted=encrypt_password(services.keyring, password),
        external_id=body.external_id,
        site=body.site,
        detector=body.detector,
        enabled=body.enabled,
        **specs,
    )
    ChannelRepository(session).add(channel)
    await session.flush()
    audit.record("analytics.channel.create", "analytics_channel", channel.id, name=channel.name)
    background.add_task(services.analytics.apply, channel.id)
    return ok(_out(services, channel))


@router.post("/channels/import", responses=error_responses(409))
async def import_channels(
    body: Annotated[dict[str, Any], Body(examples=[SITE_EXAMPLE], description="A site file (seed 002)")],
    _: AnalyticsWrite,
    services: ServicesDep,
    session: SessionDep,
    audit: AuditorDep,
    background: BackgroundTasks,
    dry_run: Annotated[bool, Query(description="Validate and report, write nothing")] = False,
) -> Envelope[ChannelImportOut]:
    """Create or update the site's channels, matched by (site, channel id); all or nothing.

    The file is the truth for the connection (URL and credentials); lines, zones and enabled change only
    where the file gives them. Channels of the site that the file leaves out are kept.
    """
    try:
        site = parse_site(body)
    except SiteConfigError as exc:
        raise _invalid(exc.problems) from None
    repo = ChannelRepository(session)
    conflicts = await repo.name_conflicts(site)
    if conflicts:
        raise ConflictError(
            f"{len(conflicts)} channel name(s) already taken by other channels",
            [{"field": f"channels[{i}].name", "message": "another channel's name"} for i in conflicts],
        )
    done = await repo.upsert_site(
        site, lambda password: encrypt_password(services.keyring, password), dry_run
    )
    created = sum(1 for item in done if item.action == "create")
    if not dry_run:
        for item in done:
            if item.channel is not None:
                background.add_task(services.analytics.apply, item.channel.id)
        audit.record(
            "analytics.channel.import",
            "analytics_site",
            site.site,
            created=created,
            updated=len(done) - created,
        )
    channels = [
        ImportedChannel(
            external_id=item.external_id,
            name=item.name,
            action=item.action,
            id=item.channel.id if item.channel is not None else None,
        )
        for item in done
    ]
    return ok(
        ChannelImportOut(
            site=site.site, dry_run=dry_run, created=created, updated=len(done) - created, channels=channels
        )
    )


@router.get("/channels/{channel_id}", responses=error_responses(404))
async def get_channel(
    channel_id: str, _: AnalyticsRead, services: ServicesDep, session: SessionDep
) -> Envelope[ChannelOut]:
    return ok(_out(services, await _channel(session, channel_id)))


@router.patch("/channels/{channel_id}", responses=error_responses(404, 409))
async def update_channel(
    channel_id: str,
    body: ChannelUpdate,
    _: AnalyticsWrite,
    services: ServicesDep,
    session: SessionDep,
    audit: AuditorDep,
    background: BackgroundTasks,
) -> Envelope[ChannelOut]:
    channel = await _channel(session, channel_id)
    changes = body.model_dump(exclude_unset=True)
    for required in ("name", "enabled", "lines", "zones"):
        if required in changes and changes[required] is None:
            raise _invalid([FieldProblem(required, "cannot be null")])
    specs = _specs(changes.pop("lines", None), changes.pop("zones", None))
    given = body.model_fields_set
    camera_id, url = channel.camera_id, channel.url
    # camera_id and url replace each other: setting one (not to null) drops the other.
    if "camera_id" in given:
        camera_id = changes.pop("camera_id")
        url = None if camera_id is not None and "url" not in given else url
    if "url" in given:
        url = changes.pop("url")
        camera_id = None if url is not None and "camera_id" not in given else camera_id
    username, password = changes.pop("username", None), changes.pop("password", None)
    await _check_source(session, camera_id, url, username, password)
    if "name" in changes:
        await _check_name(session, changes["name"], channel.id)
    set_user, set_password = "username" in given, "password" in given
    if camera_id is None and "url" in given and url is not None:  # explicit fields win over embedded ones
        url, embedded_user, embedded_password = split_credentials(url, None, None)
        if not set_user and embedded_user is not None:
            username, set_user = embedded_user, True
        if not set_password and embedded_password is not None:
            password, set_password = embedded_password, True
    if camera_id is not None:
        channel.username = channel.password_encrypted = None
    if camera_id is None and set_user:
        channel.username = username
    if camera_id is None and set_password:
        channel.password_encrypted = encrypt_password(services.keyring, password)
    channel.camera_id, channel.url = camera_id, url
    for key, value in {**changes, **specs}.items():
        setattr(channel, key, value)
    await session.flush()
    audit.record(
        "analytics.channel.update", "analytics_channel", channel.id, fields=sorted(body.model_fields_set)
    )
    background.add_task(services.analytics.apply, channel.id)
    return ok(_out(services, channel))


@router.delete(
    "/channels/{channel_id}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(404)
)
async def delete_channel(
    channel_id: str,
    _: AnalyticsWrite,
    services: ServicesDep,
    session: SessionDep,
    audit: AuditorDep,
    background: BackgroundTasks,
) -> None:
    """Its runs, events and counts stay (their channel becomes null); the live worker stops."""
    channel = await _channel(session, channel_id)
    await ChannelRepository(session).delete(channel)
    audit.record("analytics.channel.delete", "analytics_channel", channel_id, name=channel.name)
    background.add_task(services.analytics.apply, channel_id)


@router.get("/counts")
async def get_counts(
    _: AnalyticsRead,
    services: ServicesDep,
    session: SessionDep,
    channel: Annotated[str | None, Query(max_length=36, description="A channel id; all if left out")] = None,
    since: Since = None,
    until: Until = None,
    bucket: Bucket = "hour",
) -> Envelope[CountsOut]:
    """Line crossings and zone entries per bucket, summed over runs; buckets start on the server's
    timezone hours and local midnights. Default range: today there; one bound alone spans a day."""
    zone = ZoneInfo(services.settings.timezone)
    since, until = time_range(since, until)
    for field, value in (("from", since), ("to", until)):
        if value is not None and not EARLIEST <= value <= LATEST:  # room for the day and zone arithmetic
            problem = FieldProblem(field, f"must be between {EARLIEST.year} and {LATEST.year}")
            raise _invalid([problem], "query")
    if since is None:
        today = datetime.now(zone).date()
        since = (
            until - timedelta(days=1) if until else datetime(today.year, today.month, today.day, tzinfo=zone)
        )
    if until is None:
        until = since + timedelta(days=1)
    if until - since > MAX_RANGE[bucket]:
        limit = MAX_RANGE[bucket].days
        raise _invalid([FieldProblem("to", f"at most {limit} days after from for {bucket} buckets")], "query")
    by_hour = bucket != "minute" and whole_hour_offsets(zone, since, until)
    rows = await AnalyticsRepository(session).counts(since, until, channel or None, by_hour)
    buckets, totals = rollup(rows, bucket, zone)
    return ok(
        CountsOut(
            since=since.astimezone(zone),
            until=until.astimezone(zone),
            bucket=bucket,
            timezone=services.settings.timezone,
            rows=[CountOut.of(row) for row in buckets],
            totals=[CountOut.of(row) for row in totals],
        )
    )


@router.get("/events")
async def list_events(
    _: AnalyticsRead,
    session: SessionDep,
    page: Page = 1,
    page_size: PageSize = 50,
    channel: Annotated[str | None, Query(max_length=36)] = None,
    run: Annotated[str | None, Query(max_length=36)] = None,
    kind: EventKind | None = None,
    name: Annotated[str | None, Query(max_length=255)] = None,
    since: Since = None,
    until: Until = None,
) -> PagedEnvelope[AnalyticsEventOut]:
    """Crossings and zone entries/exits, newest first."""
    since, until = time_range(since, until)
    flt = EventFilter(channel or None, run or None, kind, name or None, since, until)
    result = await AnalyticsRepository(session).events(flt, page, page_size)
    return paged(result, [AnalyticsEventOut.model_validate(event) for event in result.items])


async def _run_out(repo: AnalyticsRepository, runs: list[AnalyticsRun]) -> list[AnalyticsRunOut]:
    sizes = await repo.run_sizes([run.id for run in runs])
    return [AnalyticsRunOut.of(run, *sizes.get(run.id, (0, 0))) for run in runs]


@router.get("/runs")
async def list_runs(
    _: AnalyticsRead,
    session: SessionDep,
    page: Page = 1,
    page_size: PageSize = 20,
    channel: Annotated[str | None, Query(max_length=36)] = None,
    status: Annotated[
        str | None, Query(max_length=16, description="running|finished|failed|interrupted")
    ] = None,
) -> PagedEnvelope[AnalyticsRunOut]:
    """Runs, latest started first."""
    repo = AnalyticsRepository(session)
    result = await repo.runs(page, page_size, channel or None, status or None)
    return paged(result, await _run_out(repo, result.items))


async def _run(repo: AnalyticsRepository, run_id: str) -> AnalyticsRun:
    run = await repo.run(run_id)
    if run is None:
        raise NotFoundError(f"analytics run {run_id} not found")
    return run


@router.get("/runs/{run_id}", responses=error_responses(404))
async def get_run(run_id: str, _: AnalyticsRead, session: SessionDep) -> Envelope[AnalyticsRunOut]:
    repo = AnalyticsRepository(session)
    return ok((await _run_out(repo, [await _run(repo, run_id)]))[0])


@router.get("/runs/{run_id}/tracks", responses=error_responses(404))
async def list_tracks(
    run_id: str, _: AnalyticsRead, session: SessionDep, page: Page = 1, page_size: PageSize = 50
) -> PagedEnvelope[AnalyticsTrackOut]:
    """The run's people, by track id: when seen, their path and decided gender."""
    repo = AnalyticsRepository(session)
    await _run(repo, run_id)
    result = await repo.tracks(run_id, page, page_size)
    return paged(result, [AnalyticsTrackOut.model_validate(track) for track in result.items])

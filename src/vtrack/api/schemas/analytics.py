"""Analytics channel input, and channel, count, event, run and track responses.

Lines and zones arrive as plain JSON objects and are validated by the counting specs themselves (through
vtrack.analytics.site_config), so the API, a site file and the CLI accept exactly the same definitions and
name a bad one the same way ("lines[0].points").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from vtrack.api.envelope import ApiModel
from vtrack.db.models import AnalyticsChannel, AnalyticsRun
from vtrack.db.repositories.analytics import CountBucket
from vtrack.registry.schemas import Name, RtspUrl, Secret, ShortText, StrictInput

DetectorKind = Literal["yolox", "yolo", "motion"]
Bucket = Literal["minute", "hour", "day"]
EventKind = Literal["line", "zone_enter", "zone_exit"]

_LINES: dict[str, Any] = dict(
    description='[{"name"?, "points": [[x1, y1], [x2, y2]], "hysteresis"?}]; fractions of the frame '
    "(all values in [0, 1]) or pixels",
    examples=[[{"name": "door", "points": [[0.1, 0.6], [0.9, 0.6]]}]],
)
_ZONES: dict[str, Any] = dict(
    description='[{"name"?, "points": [[x, y], ...] (3 or more), "min_frames"?}]',
    examples=[[{"name": "counter", "points": [[0.2, 0.2], [0.6, 0.2], [0.6, 0.7], [0.2, 0.7]]}]],
)


class ChannelCreate(StrictInput):
    """A registered camera (its URL and credentials are used when the channel runs) or an RTSP URL."""

    name: Name
    camera_id: str | None = Field(default=None, min_length=1, max_length=36)
    url: RtspUrl | None = Field(default=None, description="Credentials inside are split out and encrypted")
    username: ShortText | None = None
    password: Secret | None = Field(default=None, repr=False)
    external_id: ShortText | None = None
    site: ShortText | None = None
    detector: DetectorKind | None = Field(default=None, description="null: the server's default")
    lines: list[dict[str, Any]] = Field(default_factory=list, **_LINES)
    zones: list[dict[str, Any]] = Field(default_factory=list, **_ZONES)
    enabled: bool = True


class ChannelUpdate(StrictInput):
    """Left out: unchanged. camera_id and url replace each other; null clears optional fields."""

    name: Name | None = None
    camera_id: str | None = Field(default=None, min_length=1, max_length=36)
    url: RtspUrl | None = None
    username: ShortText | None = None
    password: Secret | None = Field(default=None, repr=False)
    external_id: ShortText | None = None
    site: ShortText | None = None
    detector: DetectorKind | None = None
    lines: list[dict[str, Any]] | None = Field(default=None, **_LINES)
    zones: list[dict[str, Any]] | None = Field(default=None, **_ZONES)
    enabled: bool | None = None


SITE_EXAMPLE = {
    "site": "kidsplaza_thanhxuan",
    "host": "192.168.1.100",
    "port": 554,
    "credentials": {"username": "user1", "password": "..."},
    "channels": [
        {
            "id": "channel_1",
            "name": "ben_ngoai_cam_phai",
            "rtsp_path": "/cam/realmonitor?channel=1&subtype=0",
            "lines": [{"name": "door", "points": [[0.1, 0.6], [0.9, 0.6]]}],
            "enabled": False,
        }
    ],
}


class ChannelHealth(ApiModel):
    """A live channel's worker as the manager reports it; most figures are over the last few seconds."""

    name: str | None = None
    state: str  # starting | running | reconnecting | stopped | failed
    run_id: str | None = None
    fps_in: float | None = None
    fps_out: float | None = None
    frames_in: int | None = None
    frames_processed: int | None = None
    dropped: int | None = None
    reconnects: int | None = None
    latency_p50_ms: float | None = None  # capture -> frame analysed
    latency_p95_ms: float | None = None
    event_latency_p95_ms: float | None = None  # capture -> event written to the database
    error: str | None = None
    uptime_seconds: float | None = None


class ChannelOut(ApiModel):
    id: str
    name: str
    camera_id: str | None
    url: str | None = Field(description="Without credentials; null when the camera's URL is used")
    username: str | None
    has_password: bool
    external_id: str | None
    site: str | None
    detector: str | None
    lines: list[dict[str, Any]]
    zones: list[dict[str, Any]]
    enabled: bool
    created_at: datetime
    updated_at: datetime
    health: ChannelHealth | None = Field(description="The live worker's state; null when it has none")

    @classmethod
    def of(cls, channel: AnalyticsChannel, health: dict[str, Any] | None) -> ChannelOut:
        return cls(
            id=channel.id,
            name=channel.name,
            camera_id=channel.camera_id,
            url=channel.url,
            username=channel.username,
            has_password=bool(channel.password_encrypted),
            external_id=channel.external_id,
            site=channel.site,
            detector=channel.detector,
            lines=list(channel.lines),
            zones=list(channel.zones),
            enabled=channel.enabled,
            created_at=channel.created_at,
            updated_at=channel.updated_at,
            health=ChannelHealth.model_validate(health) if health is not None else None,
        )


class ImportedChannel(ApiModel):
    external_id: str
    name: str
    action: Literal["create", "update"]
    id: str | None = Field(description="null on a dry run")


class ChannelImportOut(ApiModel):
    site: str
    dry_run: bool
    created: int
    updated: int
    channels: list[ImportedChannel]


class GenderSplit(ApiModel):
    male: int
    female: int
    unknown: int = Field(description="in - male - female: people whose gender was not decided")


class CountOut(ApiModel):
    bucket: datetime | None = Field(description="Bucket start, in the server's timezone; null in totals")
    channel_id: str | None
    kind: str = Field(description="line | zone")
    name: str
    entered: int = Field(alias="in", description="line: crossings in; zone: entries")
    exited: int = Field(alias="out", description="line: crossings out; zone: exits")
    dwell_avg: float | None = Field(description="zones: mean seconds inside, over the exits")
    gender: GenderSplit

    @classmethod
    def of(cls, row: CountBucket) -> CountOut:
        return cls(
            bucket=row.bucket,
            channel_id=row.channel_id,
            kind=row.kind,
            name=row.name,
            entered=row.in_count,
            exited=row.out_count,
            dwell_avg=round(row.dwell_total / row.out_count, 3)
            if row.kind == "zone" and row.out_count
            else None,
            gender=GenderSplit(
                male=row.male_in, female=row.female_in, unknown=row.in_count - row.male_in - row.female_in
            ),
        )


class CountsOut(ApiModel):
    since: datetime = Field(alias="from")
    until: datetime = Field(alias="to")
    bucket: Bucket
    timezone: str
    rows: list[CountOut]
    totals: list[CountOut] = Field(description="Per channel, kind and name over the whole range")


class AnalyticsEventOut(ApiModel):
    id: int
    run_id: str
    channel_id: str | None
    at: datetime
    kind: str
    name: str
    direction: str | None
    track_id: int
    dwell_seconds: float | None
    gender: str


class AnalyticsRunOut(ApiModel):
    id: str
    channel_id: str | None
    kind: str
    source: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    config: dict[str, Any]
    summary: dict[str, Any]
    error: str | None
    tracks: int
    events: int

    @classmethod
    def of(cls, run: AnalyticsRun, tracks: int, events: int) -> AnalyticsRunOut:
        return cls(
            id=run.id,
            channel_id=run.channel_id,
            kind=run.kind,
            source=run.source,
            status=run.status,
            started_at=run.started_at,
            ended_at=run.ended_at,
            config=dict(run.config),
            summary=dict(run.summary),
            error=run.error,
            tracks=tracks,
            events=events,
        )


class AnalyticsTrackOut(ApiModel):
    id: int
    run_id: str
    track_id: int
    first_seen: datetime
    last_seen: datetime
    frames: int
    path: list[Any] = Field(description="[[seconds since first seen, x, y], ...]")
    gender: str
    gender_confidence: float
    age: float | None

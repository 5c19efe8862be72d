"""What recordings a device holds for one channel, in one shape for every protocol, and their HTTP download.

The sync engine asks `search_recordings` for a time window and gets RecordingSegments; it downloads `http`
ones with `download_http`, `tapo` ones with `download_tapo` and `onvif_replay` ones with the RTSP replay
client.

- ONVIF Profile G (onvif/recordings.py): a recording is continuous over its span; it is cut here into
  slices on a fixed grid (ONVIF_SLICE, aligned to the Unix epoch) and clipped to the window, so windows
  on the grid give the same slices, with the same remote ids (`{recording token}@{start}`), every run,
  and a failed replay costs one slice. The slice still being written is left out while the recording runs,
  as devices list only closed files.
- Hikvision and Dahua (hikvision_recordings.py, dahua_recordings.py): the device's own files. They keep
  their true start and end even where they stick out of the window: a file is downloaded whole, and the
  archive must know what it holds. Every file that overlaps the window is listed.
- Tapo (tapo.py, through pytapo): the SD card's recordings, whole like a vendor's files, fetched over the
  camera's encrypted media port (kind `tapo`, `download_tapo`) as one MPEG-TS.

Times are aware UTC as the device's clock has them: the footage is indexed by that clock, and a replay or
file request must name it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from vtrack.devices import dahua_recordings, hikvision_recordings
from vtrack.devices.dahua import DahuaClient
from vtrack.devices.hikvision import HikvisionClient
from vtrack.devices.http import url_host
from vtrack.devices.onvif.client import OnvifClient
from vtrack.devices.onvif.recordings import ProfileG
from vtrack.devices.recording_download import download
from vtrack.devices.tapo import STREAM_PORT, TapoCamera, TapoTarget

log = logging.getLogger(__name__)

ONVIF_SLICE = timedelta(minutes=10)
Protocol = Literal["onvif", "hikvision", "dahua", "tapo"]
SegmentKind = Literal["onvif_replay", "http", "tapo"]
Progress = Callable[[int], Awaitable[None]]


@dataclass(frozen=True)
class RecordingSegment:
    channel: int  # the device channel (= cameras.channel; 1-based)
    start: datetime  # aware UTC
    end: datetime  # aware UTC
    remote_id: str  # stable id on the device: recording token + start, playbackURI path, file path
    size_bytes: int | None
    kind: SegmentKind
    url: str  # RTSP replay URI (onvif), the HTTP download URL, tapo://host:media-port; never with credentials
    container: str | None  # for http: "mp4", "dav", "ps", ... as far as the search tells


@dataclass(frozen=True)
class DeviceAccess:
    """How to reach one device. `device_timezone` (IANA name) is the zone of the times a device writes
    without one (Dahua always, Hikvision rarely); None: Dahua's is estimated from its clock, others UTC.
    `stream_port`: Tapo's media port (8800 unless told), next to its control port `port`."""

    protocol: Protocol
    host: str
    port: int
    username: str | None
    password: str | None = field(repr=False)
    timeout: float = 10.0
    device_timezone: str | None = None
    stream_port: int | None = None

    def __post_init__(self) -> None:
        self.zone()  # an unknown zone name is a configuration error: say so before any request

    def zone(self) -> tzinfo | None:
        if self.device_timezone is None:
            return None
        try:
            return ZoneInfo(self.device_timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {self.device_timezone!r}") from error

    @property
    def base_url(self) -> str:
        return f"http://{url_host(self.host)}:{self.port}"

    def tapo_target(self) -> TapoTarget:
        return TapoTarget(
            self.host, self.password or "", self.port, self.stream_port or STREAM_PORT, timeout=self.timeout
        )


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(UTC)


def without_credentials(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


async def search_recordings(
    http: httpx.AsyncClient, device: DeviceAccess, channel: int, start: datetime, end: datetime
) -> list[RecordingSegment]:
    """The channel's recordings overlapping [start, end), by start, each once. Raises DeviceError (kind
    auth on refused credentials, at once and without retrying; unreachable, timeout, not_found, ...)."""
    start, end = _aware(start, "start"), _aware(end, "end")
    if end <= start:
        return []
    if device.protocol == "onvif":
        found = await _onvif(http, device, channel, start, end)
    elif device.protocol == "hikvision":
        found = await _hikvision(http, device, channel, start, end)
    elif device.protocol == "tapo":
        found = await _tapo(device, channel, start, end)
    else:
        found = await _dahua(http, device, channel, start, end)
    unique = {
        s.remote_id: s for s in reversed(found) if s.channel == channel and s.start < end and s.end > start
    }
    return sorted(unique.values(), key=lambda s: (s.start, s.remote_id))


async def _onvif(
    http: httpx.AsyncClient, device: DeviceAccess, channel: int, start: datetime, end: datetime
) -> list[RecordingSegment]:
    client = OnvifClient(
        http,
        device.host,
        device.port,
        username=device.username,
        password=device.password,
        timeout=device.timeout,
    )
    await client.sync_clock()
    await client.discover_services()
    profile_g = ProfileG(client)
    segments: list[RecordingSegment] = []
    for info in await profile_g.recordings_of(channel):
        if info.start is None or info.end is None:
            continue
        # The slice being written is not listed while recording goes on; it is once it closes.
        last = _slice_floor(info.end) if info.recording else info.end
        slices = list(onvif_slices(max(start, info.start), min(end, last)))
        if not slices:
            continue
        url = without_credentials(await profile_g.replay_uri(info.token))
        segments += [
            RecordingSegment(
                channel=channel,
                start=first,
                end=until,
                remote_id=f"{info.token}@{first:%Y%m%dT%H%M%SZ}",
                size_bytes=None,
                kind="onvif_replay",
                url=url,
                container=None,
            )
            for first, until in slices
        ]
    return segments


def _slice_floor(value: datetime) -> datetime:
    step = int(ONVIF_SLICE.total_seconds())
    epoch = int(value.timestamp())
    return datetime.fromtimestamp(epoch - epoch % step, UTC)


def onvif_slices(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """[start, end) cut at the multiples of ONVIF_SLICE since the epoch."""
    cuts: list[tuple[datetime, datetime]] = []
    at = start
    while at < end:
        until = min(end, _slice_floor(at) + ONVIF_SLICE)
        cuts.append((at, until))
        at = until
    return cuts


async def _hikvision(
    http: httpx.AsyncClient, device: DeviceAccess, channel: int, start: datetime, end: datetime
) -> list[RecordingSegment]:
    client = HikvisionClient(
        http, device.base_url, device.username or "", device.password or "", timeout=device.timeout
    )
    matches = await hikvision_recordings.search(client, channel, start, end, device.zone() or UTC)
    return [
        RecordingSegment(
            channel=channel,
            start=match.start,
            end=match.end,
            remote_id=match.remote_id,
            size_bytes=match.size,
            kind="http",
            url=hikvision_recordings.download_url(device.base_url, without_credentials(match.playback_uri)),
            # Real firmware serves its MPEG-PS ("ps") under an .mp4 name, the simulator real MP4:
            # the bytes tell (sniff_container), not the search.
            container=None,
        )
        for match in matches
    ]


async def _dahua(
    http: httpx.AsyncClient, device: DeviceAccess, channel: int, start: datetime, end: datetime
) -> list[RecordingSegment]:
    client = DahuaClient(
        http, device.base_url, device.username or "", device.password or "", timeout=device.timeout
    )
    zone = device.zone() or await dahua_recordings.estimated_zone(client)
    files = await dahua_recordings.find_files(client, channel, start, end, zone)
    return [
        RecordingSegment(
            channel=channel,
            start=item.start,
            end=item.end,
            remote_id=item.path,
            size_bytes=item.size,
            kind="http",
            url=dahua_recordings.download_url(device.base_url, item.path),
            container=item.type or "dav",
        )
        for item in files
    ]


async def _tapo(device: DeviceAccess, channel: int, start: datetime, end: datetime) -> list[RecordingSegment]:
    target = device.tapo_target()
    camera = await TapoCamera.connect(target)
    try:
        found = await camera.recordings(start, end)
    finally:
        await camera.close()
    url = f"tapo://{url_host(target.host)}:{target.stream_port}"
    return [RecordingSegment(channel, r.start, r.end, r.remote_id, None, "tapo", url, "ts") for r in found]


async def download_tapo(
    device: DeviceAccess, segment: RecordingSegment, dest: Path, *, progress: Progress
) -> int:
    """Fetch a `tapo` segment into `dest` (replaced: the camera cannot resume a stream); returns its size."""
    camera = await TapoCamera.connect(device.tapo_target())
    try:
        return await camera.download(segment.start, segment.end, dest, progress)
    finally:
        await camera.close()


async def download_http(
    http: httpx.AsyncClient,
    device: DeviceAccess,
    segment: RecordingSegment,
    dest: Path,
    *,
    progress: Progress | None = None,
) -> int:
    """Fetch an `http` segment into `dest` (a .part file the caller owns), resuming from what it holds;
    returns its size when complete. Raises VendorError: auth (never retried here), not_found,
    unreachable/timeout (retry: the bytes so far stay in `dest`), protocol."""
    if segment.kind != "http":
        raise ValueError(f"{segment.remote_id} is an ONVIF replay, not an HTTP download")
    body = hikvision_recordings.download_request(segment.url) if device.protocol == "hikvision" else None
    return await download(
        http,
        segment.url,
        dest,
        username=device.username,
        password=device.password,
        request_timeout=device.timeout,
        body=body,
        progress=progress,
    )


def sniff_container(head: bytes) -> str | None:
    """The container a recorded file's first bytes show: mp4, dav (Dahua), ps (MPEG-PS, Hikvision's behind
    its 40-byte IMKH header), ts; None when unknown."""
    if head[4:8] == b"ftyp":
        return "mp4"
    if head[:4] == b"DHAV":
        return "dav"
    if head[:4] == b"IMKH" or head[:4] == b"\x00\x00\x01\xba":
        return "ps"
    if head[:1] == b"\x47" and head[188:189] == b"\x47":
        return "ts"
    return None

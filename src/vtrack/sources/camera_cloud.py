"""What the camera-cloud connectors (Imou, Ezviz) share: app tokens, the time-window cursor, HLS reads.

Camera clouds are not file stores: an app key and secret buy a short-lived access token, the account has
devices with channels, and each channel has cloud recordings with a begin and an end time. So:

- `AppTokens` holds the app's access token: fetched on first use, re-fetched shortly before it expires,
  and re-fetched at most once when the provider answers "token expired" (in its own error code, inside
  an HTTP 200) however many requests saw that answer at the same time (single-flight, like OAuth refresh).
- There is no change feed, so the cursor is a watermark per channel: the (end, begin) time of the last
  recording handed out. A channel first seen starts `lookback` before that moment, and the start is
  stored at once, so a quiet channel's window does not slide forward and skip what appears later. Each
  sync asks every selected channel for the recordings since its watermark, day by day (the providers'
  queries are meant for one day), and hands them out sorted by end time across channels, so a page is
  always a prefix of every channel's own order and its watermark can advance to what the page held.
- A recording's bytes come from the provider's HLS playback URL (sources/hls.py), as one MPEG-TS file.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import ClassVar

from vtrack.devices.errors import DeviceError
from vtrack.sources.base import ChangePage, Folder, RateLimit, RemoteFile
from vtrack.sources.hls import hls_bytes
from vtrack.sources.http import CloudHttp

log = logging.getLogger(__name__)

WALL_CLOCK = "%Y-%m-%d %H:%M:%S"  # the providers' "yyyy-MM-dd HH:mm:ss"
CONTENT_TYPE = "video/mp2t"
EARLY_RENEW_SECONDS = 60.0
MAX_CURSOR_CHARS = 4000
REMEMBERED_FILES = 64  # recordings whose segment sizes are kept for a resumed download

TokenFetch = Callable[[], Awaitable[tuple[str, float]]]  # -> (token, seconds it stays valid)
Watermark = tuple[int, int]  # (end, begin) in epoch seconds


def utc_now() -> datetime:
    return datetime.now(UTC)


class AppTokens:
    """The app's access token (implements http.AccessTokens): one fetch at a time, for all callers."""

    def __init__(self, fetch: TokenFetch, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch = fetch
        self._clock = clock
        self._lock = asyncio.Lock()
        self._token: str | None = None
        self._renew_at = 0.0
        self.fetches = 0

    def _fresh(self) -> bool:
        return self._token is not None and self._clock() < self._renew_at

    async def current(self) -> str:
        token = self._token
        if token is not None and self._fresh():
            return token
        return await self.renew(token or "")

    async def renew(self, rejected: str) -> str:
        async with self._lock:
            if self._token is not None and self._token != rejected and self._fresh():
                return self._token  # another caller fetched while this one waited
            token, lifetime = await self._fetch()
            self._token = token
            self._renew_at = self._clock() + lifetime - min(EARLY_RENEW_SECONDS, lifetime / 10)
            self.fetches += 1
            return token


@dataclass(frozen=True)
class Device:
    serial: str
    name: str


@dataclass(frozen=True)
class Channel:
    device: Device
    channel: str
    name: str

    @property
    def key(self) -> str:
        """The channel's folder id and cursor key: `serial:channel`."""
        return f"{self.device.serial}:{self.channel}"


@dataclass(frozen=True)
class Recording:
    channel: Channel
    begin: datetime  # aware
    end: datetime
    size: int = 0  # 0: the provider does not say


def wall_clock(when: datetime, zone: tzinfo) -> str:
    return when.astimezone(zone).strftime(WALL_CLOCK)


def parse_wall_clock(text: str, zone: tzinfo) -> datetime:
    try:
        return datetime.strptime(text, WALL_CLOCK).replace(tzinfo=zone).astimezone(UTC)
    except ValueError:
        raise DeviceError(f"unexpected time {text!r} (expected yyyy-MM-dd HH:mm:ss)", "protocol") from None


def day_windows(since: datetime, until: datetime, zone: tzinfo) -> list[tuple[datetime, datetime]]:
    """[since, until] cut at midnight in `zone`: each piece stays within one day of the provider's."""
    windows: list[tuple[datetime, datetime]] = []
    start = since
    while start < until:
        local = start.astimezone(zone)
        midnight = (local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)).astimezone(
            UTC
        )
        stop = min(until, midnight - timedelta(seconds=1))
        windows.append((start, stop))
        start = midnight
    return windows


def load_marks(cursor: str | None) -> dict[str, Watermark]:
    if not cursor:
        return {}
    try:
        data = json.loads(cursor)
        return {key: (int(value[0]), int(value[1])) for key, value in data["w"].items()}
    except (ValueError, KeyError, TypeError, IndexError):
        raise DeviceError("the saved sync cursor is not one this connector wrote", "protocol") from None


def dump_marks(marks: dict[str, Watermark]) -> str:
    cursor = json.dumps({"v": 1, "w": {k: list(v) for k, v in marks.items()}}, separators=(",", ":"))
    if len(cursor) > MAX_CURSOR_CHARS:
        log.warning("camera-cloud cursor is %d characters: select fewer channels", len(cursor))
    return cursor


def recording_id(provider: str, recording: Recording) -> str:
    begin, end = int(recording.begin.timestamp()), int(recording.end.timestamp())
    return f"{provider}:{recording.channel.device.serial}:{recording.channel.channel}:{begin}:{end}"


def parse_recording_id(file_id: str, provider: str) -> tuple[str, str, datetime, datetime]:
    """(serial, channel, begin, end) of an id `recording_id` wrote."""
    parts = file_id.split(":")
    if len(parts) < 5 or parts[0] != provider or not (parts[-1].isdigit() and parts[-2].isdigit()):
        raise DeviceError(f"{file_id!r} is not a {provider} recording", "not_found")
    begin = datetime.fromtimestamp(int(parts[-2]), UTC)
    return ":".join(parts[1:-3]), parts[-3], begin, datetime.fromtimestamp(int(parts[-1]), UTC)


def recording_path(recording: Recording) -> str:
    device = (recording.channel.device.name or recording.channel.device.serial).replace("/", "_")
    begin, end = recording.begin.astimezone(UTC), recording.end.astimezone(UTC)
    return f"{device}/ch{recording.channel.channel}/{begin:%Y-%m-%d}/{begin:%H%M%S}-{end:%H%M%S}.ts"


class CameraCloudConnector(ABC):
    """Connector and FolderBrowser over a camera cloud; a provider module fills in the API calls."""

    provider: ClassVar[str]
    api_name: ClassVar[str]  # in errors: "Imou Open API"
    default_urls: ClassVar[Mapping[str, str]]
    rate_limit: RateLimit

    def __init__(
        self,
        app_key: str,
        app_secret: str,
        *,
        device_ids: Sequence[str] | None = None,
        lookback: timedelta = timedelta(days=1),
        urls: Mapping[str, str] | None = None,
        zone: tzinfo = UTC,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        """An app's key (Imou calls it the app id) and secret; how they sign requests is the provider's."""
        self.app_key = app_key
        self._secret = app_secret
        self.urls = {**self.default_urls, **(urls or {})}
        self.http = CloudHttp(self.urls["api"], where=self.api_name, rate=self.rate_limit, sleep=sleep)
        self.tokens = AppTokens(self._fetch_token)
        self.device_ids = list(device_ids) if device_ids is not None else None
        self.lookback = lookback
        self.zone = zone
        self.sleep = sleep
        self.now = now
        self._sizes: OrderedDict[str, dict[int, int]] = OrderedDict()
        self._channels_of: dict[str, list[Channel]] = {}  # by device serial, once the cloud said them

    # -- what a provider implements -----------------------------------------------------------------

    @abstractmethod
    async def _fetch_token(self) -> tuple[str, float]:
        """A fresh access token for the app, and how many seconds it stays valid."""

    @abstractmethod
    async def _devices(self) -> list[Device]: ...

    @abstractmethod
    async def _channels(self, device: Device) -> list[Channel]: ...

    @abstractmethod
    async def _recordings(self, channel: Channel, since: datetime, until: datetime) -> list[Recording]:
        """The cloud recordings of `channel` that overlap [since, until] (one day at most)."""

    @abstractmethod
    async def _playback_url(self, serial: str, channel: str, begin: datetime, end: datetime) -> str:
        """An HLS URL of the cloud recording [begin, end]."""

    @abstractmethod
    async def account(self) -> str: ...

    # -- Connector ------------------------------------------------------------------------------------

    async def selected_channels(self) -> list[Channel]:
        """The channels to sync: all, or those whose device serial or `serial:channel` was selected."""
        wanted = set(self.device_ids) if self.device_ids is not None else None
        chosen: list[Channel] = []
        for device in await self._devices():
            if wanted is not None and not any(
                w == device.serial or w.startswith(f"{device.serial}:") for w in wanted
            ):
                continue
            for channel in await self._channels(device):
                if wanted is None or device.serial in wanted or channel.key in wanted:
                    chosen.append(channel)
        return chosen

    async def changes(self, cursor: str | None, page_size: int = 1000) -> ChangePage:
        marks = load_marks(cursor)
        now = self.now()
        first = int((now - self.lookback).timestamp())
        fresh: list[Recording] = []
        for channel in await self.selected_channels():
            mark = marks.setdefault(channel.key, (first, 0))
            since = datetime.fromtimestamp(mark[0], UTC)
            seen: set[tuple[int, int]] = set()
            for start, stop in day_windows(since, now, self.zone):
                for recording in await self._recordings(channel, start, stop):
                    stamp = (int(recording.end.timestamp()), int(recording.begin.timestamp()))
                    if stamp > mark and recording.end <= now and stamp not in seen:
                        seen.add(stamp)
                        fresh.append(recording)
        fresh.sort(key=lambda r: (r.end, r.channel.device.serial, r.channel.channel, r.begin))
        page = fresh[:page_size]
        for recording in page:
            marks[recording.channel.key] = (int(recording.end.timestamp()), int(recording.begin.timestamp()))
        files = [
            RemoteFile(
                id=recording_id(self.provider, r),
                path=recording_path(r),
                size=r.size,
                modified=r.end.astimezone(UTC),
                content_type=CONTENT_TYPE,
                recorded_start=r.begin.astimezone(UTC),
            )
            for r in page
        ]
        return ChangePage(files, dump_marks(marks), has_more=len(fresh) > page_size)

    async def open(self, file: RemoteFile, offset: int = 0) -> AsyncIterator[bytes]:
        serial, channel, begin, end = parse_recording_id(file.id, self.provider)
        url = await self._playback_url(serial, channel, begin, end)
        sizes = self._sizes.pop(file.id, {})
        self._sizes[file.id] = sizes
        while len(self._sizes) > REMEMBERED_FILES:
            self._sizes.popitem(last=False)
        async for chunk in hls_bytes(self.http, url, offset=offset, sizes=sizes, sleep=self.sleep):
            yield chunk

    async def refresh(self) -> None:
        await self.tokens.current()

    async def close(self) -> None:
        await self.http.close()

    # -- FolderBrowser: devices, then their channels ---------------------------------------------------

    async def list_folders(self, parent: str | None) -> list[Folder]:
        devices = await self._devices()
        if parent is None:
            return [Folder(d.serial, d.name or d.serial, d.name or d.serial, True) for d in devices]
        device = next((d for d in devices if d.serial == parent), None)
        if device is None:
            if any(parent.startswith(f"{d.serial}:") for d in devices):
                return []  # a channel: nothing below it
            raise DeviceError(f"{self.provider}: no device {parent!r} in this account", "not_found")
        label = device.name or device.serial
        return [
            Folder(c.key, c.name or f"ch{c.channel}", f"{label}/{c.name or f'ch{c.channel}'}", False)
            for c in await self._channels(device)
        ]

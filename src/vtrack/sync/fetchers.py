"""The device side of a sync run: search a camera's recordings, fetch one chunk into a `.part` file.

Three ways to fetch, as the device lists them:
- ONVIF replay: vtrack's RTSP client asks for exactly the chunk's clock range (faster than real time),
  and the access units are written into an MP4 as they arrive (media/remux.py), no re-encoding;
- vendor files over HTTP: the whole file is downloaded to a stable `.download` file beside the chunk,
  so a cut download resumes with a Range request on the next attempt or run, then remuxed to MP4
  (Dahua .dav, Hikvision's PS or MP4) and the download removed;
- Tapo's media port: the recording streamed as MPEG-TS into the `.download` file, then remuxed the same
  way (a cut stream starts over: the camera cannot resume one).
Either way the result is verified against the time asked for before the engine renames it into place:
a replay that came back short, or a file without video, is a failed attempt, not an archive file.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import get_args
from urllib.parse import urlsplit

from vtrack.db.models import Camera, VideoSource
from vtrack.devices.errors import DeviceError
from vtrack.devices.http_clients import device_client
from vtrack.devices.probe import DEFAULT_PORTS
from vtrack.devices.recordings import (
    DeviceAccess,
    Protocol,
    RecordingSegment,
    download_http,
    download_tapo,
    search_recordings,
)
from vtrack.devices.rtsp.replay import replay_range
from vtrack.media.remux import RemuxError, remux_file, write_replay_mp4
from vtrack.media.verify import verify_media
from vtrack.sync.engine import Fetched
from vtrack.sync.plan import Chunk, Wanted

_PROTOCOLS: dict[str, Protocol] = {p: p for p in get_args(Protocol)}


@dataclass(frozen=True)
class DeviceFetching:
    """Builds device access from a source and its camera; searches and fetches through it."""

    request_timeout: float
    # A replay starts at the first keyframe at or after the asked time and ends before the next chunk's:
    # up to a GOP short at each end is normal (cameras use 1-4 s GOPs).
    verify_tolerance: timedelta = timedelta(seconds=5)
    device_timezone: str | None = None

    def access(self, source: VideoSource, password: str | None, camera: Camera) -> DeviceAccess:
        """A site of single cameras (seed 000's ports 1000-1002) has one device per camera: its own port."""
        protocol = _PROTOCOLS.get(source.protocol or "", "onvif")
        port = (
            (urlsplit(camera.onvif_url).port if camera.onvif_url else None)
            or source.port
            or DEFAULT_PORTS.get(protocol, 80)
        )
        return DeviceAccess(
            protocol,
            source.host or "",
            port,
            source.username,
            password,
            timeout=self.request_timeout,
            device_timezone=self.device_timezone,
            stream_port=(source.config or {}).get("stream_port"),
        )

    async def search(
        self, source: VideoSource, password: str | None, camera: Camera, start: datetime, end: datetime
    ) -> list[Wanted]:
        async with device_client() as http:
            access = self.access(source, password, camera)
            segments = await search_recordings(http, access, camera.channel or 1, start, end)
        return [
            Wanted(camera.id, s.start, s.end, s.remote_id, s.kind, s.url, s.container, s.size_bytes)
            for s in segments
        ]

    async def fetch(
        self,
        source: VideoSource,
        password: str | None,
        camera: Camera,
        chunk: Chunk,
        part: Path,
        progress: Callable[[int, float], Awaitable[None]],
    ) -> Fetched:
        if chunk.segment.kind == "onvif_replay":
            await self._replay(source, password, chunk, part, progress)
        else:
            await self._download(source, password, camera, chunk, part, progress)
        tolerance = self.verify_tolerance
        if chunk.segment.kind != "onvif_replay":
            # A recorder's file starts at its first keyframe and runs to its last one: judge it by the
            # span the device listed, loosely (a tenth of it), not to the frame.
            tolerance = max(tolerance, timedelta(seconds=chunk.seconds / 10))
        check = await asyncio.to_thread(
            verify_media, part, expect_start=chunk.start, expect_end=chunk.end, tolerance=tolerance
        )
        if not check.ok:
            raise DeviceError(check.problem or f"{part.name} failed verification", "protocol")
        size = await asyncio.to_thread(lambda: part.stat().st_size)
        return Fetched(size, check.duration.total_seconds(), check.first, check.last)

    async def _replay(
        self,
        source: VideoSource,
        password: str | None,
        chunk: Chunk,
        part: Path,
        progress: Callable[[int, float], Awaitable[None]],
    ) -> None:
        async def report(received: int, latest: datetime) -> None:
            seconds = (latest - chunk.start).total_seconds()
            await progress(received, max(0.0, min(chunk.seconds, seconds)))

        units = replay_range(
            chunk.segment.url,
            username=source.username,
            password=password,
            start=chunk.start,
            end=chunk.end,
            timeout=self.request_timeout,
        )
        try:
            await write_replay_mp4(units, part, progress=report)
        except RemuxError as error:
            raise DeviceError(str(error), "protocol") from None

    async def _download(
        self,
        source: VideoSource,
        password: str | None,
        camera: Camera,
        chunk: Chunk,
        part: Path,
        progress: Callable[[int, float], Awaitable[None]],
    ) -> None:
        download = part.parent / f".{camera.id}-{chunk.start:%Y%m%dT%H%M%S}.download"
        segment = RecordingSegment(
            camera.channel or 1,
            chunk.start,
            chunk.end,
            chunk.segment.remote_id,
            chunk.segment.size_bytes,
            "tapo" if chunk.segment.kind == "tapo" else "http",
            chunk.segment.url,
            chunk.segment.container,
        )
        total = chunk.segment.size_bytes

        async def report(received: int) -> None:
            fraction = received / total if total else 0.0
            await progress(received, chunk.seconds * min(1.0, fraction))

        access = self.access(source, password, camera)
        if segment.kind == "tapo":
            await download_tapo(access, segment, download, progress=report)
        else:
            async with device_client() as http:
                await download_http(http, access, segment, download, progress=report)
        try:
            await asyncio.to_thread(remux_file, download, part, start=chunk.start)
        except RemuxError as error:
            raise DeviceError(str(error), "protocol") from None
        await asyncio.to_thread(download.unlink, missing_ok=True)

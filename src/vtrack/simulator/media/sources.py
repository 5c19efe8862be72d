"""What each simulated camera streams: its live feed and its replay archive, built once and lazily.

Encoding a loop or demuxing a file takes a second or so, so nothing is built at import or construction:
the first DESCRIBE of a camera's replay builds its archive (in a worker thread, once, behind a lock) and
the live feed starts with its first viewer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

from vtrack.simulator.config import CameraSpec, SimulatorConfig
from vtrack.simulator.media.archive import ARCHIVE_DAYS, SyntheticArchive
from vtrack.simulator.media.encode import encode_pattern_clip
from vtrack.simulator.media.live import ClipProducer, LiveFeed, PatternProducer, Producer
from vtrack.simulator.media.stream import EncodedClip
from vtrack.simulator.media.video_file import load_video_clip

LiveMode = Literal["encode", "loop"]  # encode: real-time pattern with the wall clock; loop: replay the loop


class ClipCache:
    """Builds a clip once in a worker thread; concurrent first users wait for the same build."""

    def __init__(self, build: Callable[[], EncodedClip]) -> None:
        self._build = build
        self._clip: EncodedClip | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> EncodedClip:
        if self._clip is None:
            async with self._lock:
                if self._clip is None:
                    self._clip = await asyncio.to_thread(self._build)
        return self._clip


@dataclass
class CameraMedia:
    camera: CameraSpec
    live: LiveFeed
    clip: ClipCache
    archive_days: int = ARCHIVE_DAYS
    clock: Callable[[], float] = time.time

    async def archive(self) -> SyntheticArchive:
        return SyntheticArchive(await self.clip.get(), days=self.archive_days, clock=self.clock)


def camera_media(
    camera: CameraSpec,
    *,
    video: Path | None = None,
    shared_video: ClipCache | None = None,
    live_mode: LiveMode = "encode",
    loop_seconds: float = 4.0,
    fps: Fraction | None = None,
    idle_seconds: float = 5.0,
) -> CameraMedia:
    """Media for one camera: the pattern in its codec/size, or the (shared) --video file."""
    if video is not None:
        clip = shared_video or ClipCache(lambda: load_video_clip(video))
    else:
        clip = ClipCache(lambda: encode_pattern_clip(camera, loop_seconds, fps))

    async def make_producer() -> Producer:
        if video is None and live_mode == "encode":
            return PatternProducer(camera, fps)
        return ClipProducer(await clip.get())

    return CameraMedia(camera, LiveFeed(make_producer, idle_seconds=idle_seconds), clip)


def build_camera_media(
    config: SimulatorConfig, *, live_mode: LiveMode = "encode", idle_seconds: float = 5.0
) -> dict[int, CameraMedia]:
    """Media for every configured camera, keyed by channel number; one --video clip shared by all."""
    video = config.video
    shared = ClipCache(lambda: load_video_clip(video)) if video is not None else None
    return {
        camera.channel: camera_media(
            camera, video=video, shared_video=shared, live_mode=live_mode, idle_seconds=idle_seconds
        )
        for camera in config.cameras
    }

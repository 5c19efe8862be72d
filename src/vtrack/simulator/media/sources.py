"""What each simulated camera streams: its live feeds and its replay archive, built once and lazily.

Encoding a loop or demuxing a file takes a second or so, so nothing is built at import or construction:
the first DESCRIBE of a camera's replay builds its archive (in a worker thread, once, behind a lock) and
a live feed starts with its first viewer. Each camera has two live feeds, main and sub (see streams.py);
the sub stream is only ever encoded while someone watches it. With `--video` the sub stream is the file
scaled down, transcoded once (the first `SUB_STREAM_VIDEO_SECONDS` only, to keep that first wait short).
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
from vtrack.simulator.streams import Stream, stream_spec, sub_stream_size

LiveMode = Literal["encode", "loop"]  # encode: real-time pattern with the wall clock; loop: replay the loop
SUB_STREAM_VIDEO_SECONDS = 30.0


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
    camera: CameraSpec  # the camera itself (its faults, channel, name), whichever stream this is
    live: LiveFeed
    clip: ClipCache
    stream: Stream = "main"
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
    stream: Stream = "main",
) -> CameraMedia:
    """Media for one stream of one camera: the pattern in the stream's codec/size, or the --video file
    (`shared_video`, when given, is the file already loaded for this stream by another camera)."""
    if video is not None:
        clip = shared_video or ClipCache(_video_loader(video, camera, stream))
    else:
        clip = ClipCache(lambda: encode_pattern_clip(stream_spec(camera, stream), loop_seconds, fps))

    async def make_producer() -> Producer:
        if video is None and live_mode == "encode":
            return PatternProducer(stream_spec(camera, stream), fps)
        return ClipProducer(await clip.get())

    return CameraMedia(camera, LiveFeed(make_producer, idle_seconds=idle_seconds), clip, stream)


def _video_loader(video: Path, camera: CameraSpec, stream: Stream) -> Callable[[], EncodedClip]:
    if stream == "main":
        return lambda: load_video_clip(video)
    # Read the size when the clip is built: by then --video has set the camera to the file's size.
    return lambda: load_video_clip(video, SUB_STREAM_VIDEO_SECONDS, size=sub_stream_size(camera))


def build_camera_media(
    config: SimulatorConfig,
    *,
    live_mode: LiveMode = "encode",
    idle_seconds: float = 5.0,
    stream: Stream = "main",
) -> dict[int, CameraMedia]:
    """One stream of every configured camera, keyed by channel number; one --video clip shared by all."""
    video = config.video
    shared = (
        ClipCache(_video_loader(video, config.cameras[0], stream))
        if video is not None and config.cameras
        else None
    )
    return {
        camera.channel: camera_media(
            camera,
            video=video,
            shared_video=shared,
            live_mode=live_mode,
            idle_seconds=idle_seconds,
            stream=stream,
        )
        for camera in config.cameras
    }

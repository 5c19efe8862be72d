"""The bytes of a recorded file: a small real MP4 of the segment, rendered on demand and cached.

The MP4 spans the segment's full duration (a frame every few seconds at a low resolution keeps it small and
quick to render) and burns each frame's wall-clock time into the picture, with `creation_time` set to the
segment start, so a client that downloads it can check it got the file it asked for. It is padded with an MP4
`free` box to exactly the size the archive announced; players and demuxers skip such boxes.
"""

from __future__ import annotations

import asyncio
import io
import logging
import struct
from collections import OrderedDict
from datetime import timedelta
from fractions import Fraction

import av

from vtrack.simulator.media.pattern import render_yuv420
from vtrack.simulator.personas.archive import Segment

logger = logging.getLogger(__name__)

CLIP_WIDTH = 320
FRAME_INTERVAL_SECONDS = 10
_FREE_BOX_HEADER = 8


def clip_size_for(width: int, height: int) -> tuple[int, int]:
    """The clip's frame size: CLIP_WIDTH wide, the camera's aspect ratio, both even (4:2:0)."""
    clip_height = max(16, round(CLIP_WIDTH * height / width / 2) * 2)
    return CLIP_WIDTH, clip_height


def render_clip(segment: Segment, camera_width: int, camera_height: int, seed: int = 0) -> bytes:
    """The MP4 for `segment`, exactly `segment.size` bytes; the same bytes every time for the same inputs."""
    width, height = clip_size_for(camera_width, camera_height)
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        container.metadata["creation_time"] = segment.start.strftime("%Y-%m-%dT%H:%M:%S.000000Z")
        container.metadata["title"] = f"channel {segment.channel}"
        stream = container.add_stream("libx264", rate=Fraction(1, FRAME_INTERVAL_SECONDS))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        # One thread: x264's output is then identical run to run, which lets a client compare downloads.
        stream.codec_context.options = {"preset": "veryfast", "crf": "30", "threads": "1"}
        stream.codec_context.gop_size = 12
        for index in range(segment.duration_seconds // FRAME_INTERVAL_SECONDS):
            offset = index * FRAME_INTERVAL_SECONDS
            image = render_yuv420(width, height, segment.start + timedelta(seconds=offset), offset * 25, seed)
            frame = av.VideoFrame.from_ndarray(image, format="yuv420p")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    data = buffer.getvalue()
    padding = segment.size - len(data)
    if padding < _FREE_BOX_HEADER:
        raise RuntimeError(f"clip of {len(data)} bytes does not fit the announced {segment.size}")
    return data + struct.pack(">I4s", padding, b"free") + bytes(padding - _FREE_BOX_HEADER)


_Key = tuple[int, int, int, int, int]  # channel, start (epoch s), camera width, height, seed


class ClipCache:
    """Recently served clips, rendered off the event loop, once even when two clients ask at the same time.

    A render runs as its own task, so a client that hangs up mid-render does not waste it for the next one.
    """

    def __init__(self, capacity: int = 32) -> None:
        self._capacity = capacity
        self._clips: OrderedDict[_Key, bytes] = OrderedDict()
        self._pending: dict[_Key, asyncio.Task[bytes]] = {}

    async def get(self, segment: Segment, camera_width: int, camera_height: int, seed: int = 0) -> bytes:
        key = (segment.channel, int(segment.start.timestamp()), camera_width, camera_height, seed)
        cached = self._clips.get(key)
        if cached is not None:
            self._clips.move_to_end(key)
            return cached
        task = self._pending.get(key)
        if task is None:
            task = asyncio.create_task(self._render(key, segment, camera_width, camera_height, seed))
            task.add_done_callback(_retrieve_outcome)
            self._pending[key] = task
        return await asyncio.shield(task)

    async def _render(self, key: _Key, segment: Segment, width: int, height: int, seed: int) -> bytes:
        try:
            data = await asyncio.to_thread(render_clip, segment, width, height, seed)
        finally:
            del self._pending[key]
        self._clips[key] = data
        while len(self._clips) > self._capacity:
            self._clips.popitem(last=False)
        logger.debug("rendered clip channel %s at %s (%s bytes)", segment.channel, segment.start, len(data))
        return data


def _retrieve_outcome(task: asyncio.Task[bytes]) -> None:
    """Mark a failed render's error as seen: the requests awaiting it re-raise it; asyncio need not log it."""
    if not task.cancelled():
        task.exception()

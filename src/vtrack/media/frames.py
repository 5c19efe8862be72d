"""Single frames: grab one from a stream, encode it as JPEG, read a JPEG's size, decode a vendor's JPEG.

JPEG goes through FFmpeg's mjpeg codec (already in the PyAV wheel) rather than Pillow: one imaging
stack, and the colour conversion from the camera's YUV is swscale's, the same one the decoder used.
Snapshots are a full-size JPEG plus a thumbnail (320 px wide by default) for lists and dashboards.
"""

from __future__ import annotations

import asyncio
import struct
from concurrent.futures import Executor
from dataclasses import dataclass
from fractions import Fraction

import av
import av.error

from vtrack.media.deadline import Deadline
from vtrack.media.errors import StreamError
from vtrack.media.reader import VideoReader
from vtrack.media.urls import redact_url
from vtrack.media.worker import run_with_deadline

THUMBNAIL_WIDTH = 320
_JPEG_FORMAT = "yuvj420p"  # full-range 4:2:0, what the mjpeg encoder takes and every JPEG decoder reads
# libjpeg's quality scale (quality 50 = the standard tables) to FFmpeg's qscale, whose tables are the
# MPEG-1 intra matrix times qscale/8: the ratio of the two tables' means is 0.14, so 85 -> 4, 95 -> 1.
_QSCALE_PER_PERCENT = 0.14
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # not DHT, JPG, DAC
_STANDALONE = frozenset(range(0xD0, 0xD8)) | {0x01}  # RSTn and TEM carry no length


@dataclass(frozen=True)
class Snapshot:
    jpeg: bytes
    thumbnail: bytes
    width: int
    height: int


def grab_frame(url: str, *, username: str | None, password: str | None, timeout: float) -> av.VideoFrame:
    """The first decodable frame of the stream; StreamError (with its kind) when there is none in time."""
    return _grab(url, username, password, Deadline(timeout))


def _grab(url: str, username: str | None, password: str | None, deadline: Deadline) -> av.VideoFrame:
    with VideoReader(url, username=username, password=password, deadline=deadline) as reader:
        for frame in reader.frames():
            return frame
    raise StreamError("protocol", f"{redact_url(url)} ended before its first frame")


def _qscale(quality: int) -> int:
    scale = 5000 / quality if quality < 50 else 200 - 2 * quality
    return min(31, max(1, round(_QSCALE_PER_PERCENT * scale)))


def _even(value: float) -> int:
    return max(2, int(round(value / 2)) * 2)


def encode_jpeg(frame: av.VideoFrame, *, quality: int = 85, max_width: int | None = None) -> bytes:
    """`frame` as a baseline JPEG, scaled down (aspect kept) when wider than `max_width`.

    `quality` is libjpeg's 1-100 scale, mapped onto FFmpeg's qscale. Scaled sizes are rounded to even
    numbers, which 4:2:0 chroma needs: 1920x1080 -> 320x180, 800x600 -> 320x240.
    """
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality must be 1-100, got {quality}")
    if max_width is not None and max_width < 2:
        raise ValueError(f"max_width must be at least 2, got {max_width}")
    width, height = frame.width, frame.height
    if max_width is not None and width > max_width:
        width, height = _even(max_width), _even(height * max_width / width)
        image = frame.reformat(width=width, height=height, format=_JPEG_FORMAT, interpolation="AREA")
    else:
        image = frame.reformat(format=_JPEG_FORMAT)
    image.pts = None
    encoder = av.CodecContext.create("mjpeg", "w")
    encoder.width, encoder.height = width, height
    encoder.pix_fmt = _JPEG_FORMAT
    encoder.time_base = Fraction(1, 1)
    encoder.qmin = encoder.qmax = _qscale(quality)  # a fixed quantiser: no rate control for one image
    packets = encoder.encode(image) + encoder.encode(None)
    return b"".join(bytes(packet) for packet in packets)


def jpeg_dimensions(data: bytes) -> tuple[int, int]:
    """(width, height) from the JPEG's start-of-frame marker; ValueError naming what is wrong otherwise."""
    if len(data) < 4 or data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG: it does not start with the SOI marker (FF D8)")
    pos = 2
    while True:
        if pos + 2 > len(data):
            raise ValueError("truncated JPEG: no start-of-frame marker before the end of the data")
        if data[pos] != 0xFF:
            raise ValueError(f"corrupt JPEG: expected a marker at byte {pos}")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker in _STANDALONE:
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # EOI or SOS: the frame header should have come first
            raise ValueError("corrupt JPEG: image data before any start-of-frame marker")
        if pos + 4 > len(data):
            raise ValueError("truncated JPEG: a marker segment is cut off")
        (length,) = struct.unpack_from(">H", data, pos + 2)
        if length < 2:
            raise ValueError(f"corrupt JPEG: segment length {length} at byte {pos}")
        if marker in _SOF_MARKERS:
            if pos + 9 > len(data):
                raise ValueError("truncated JPEG: the start-of-frame header is cut off")
            height, width = struct.unpack_from(">HH", data, pos + 5)
            if width == 0 or height == 0:
                raise ValueError(f"unsupported JPEG: its size is {width}x{height}")
            return width, height
        pos += 2 + length


def decode_jpeg(data: bytes) -> av.VideoFrame:
    """A JPEG (a vendor's or an ONVIF snapshot) as a frame, so it can be thumbnailed like a stream frame."""
    jpeg_dimensions(data)  # a clear error for what is not a JPEG, before FFmpeg's generic one
    decoder = av.CodecContext.create("mjpeg", "r")
    try:
        frames = decoder.decode(av.Packet(data)) + decoder.decode(None)
    except av.error.FFmpegError as exc:
        raise ValueError(f"the JPEG does not decode: {exc.strerror}") from None
    if not frames:
        raise ValueError("the JPEG does not decode: no picture in it")
    frame = frames[0]
    if not isinstance(frame, av.VideoFrame):  # mjpeg yields video frames only; this narrows the type
        raise ValueError("the JPEG does not decode to a picture")
    return frame


def make_snapshot(
    frame: av.VideoFrame, *, quality: int = 85, thumbnail_width: int = THUMBNAIL_WIDTH
) -> Snapshot:
    """The full-size JPEG and the thumbnail of `frame` (blocking: see `snapshot_from_frame`)."""
    return Snapshot(
        jpeg=encode_jpeg(frame, quality=quality),
        thumbnail=encode_jpeg(frame, quality=quality, max_width=thumbnail_width),
        width=frame.width,
        height=frame.height,
    )


async def capture_snapshot(
    url: str,
    *,
    username: str | None,
    password: str | None,
    timeout: float,  # noqa: ASYNC109  (bounds a worker thread, which asyncio.timeout cannot stop)
    quality: int = 85,
    thumbnail_width: int = THUMBNAIL_WIDTH,
    executor: Executor | None = None,
) -> Snapshot:
    """Grab a frame and encode it and its thumbnail in a worker thread; StreamError within `timeout`."""

    def job(deadline: Deadline) -> Snapshot:
        frame = _grab(url, username, password, deadline)
        return make_snapshot(frame, quality=quality, thumbnail_width=thumbnail_width)

    def overran(deadline: Deadline) -> Snapshot:
        raise StreamError("timeout", f"no frame from {redact_url(url)} within {timeout:g} s")

    return await run_with_deadline(job, timeout, overran, executor=executor)


async def snapshot_from_frame(
    frame: av.VideoFrame, *, quality: int = 85, thumbnail_width: int = THUMBNAIL_WIDTH
) -> Snapshot:
    """A snapshot of a frame decoded elsewhere (the RTSP client's keyframe), encoded in a worker thread."""
    return await asyncio.to_thread(make_snapshot, frame, quality=quality, thumbnail_width=thumbnail_width)


async def snapshot_from_jpeg(data: bytes, *, thumbnail_width: int = THUMBNAIL_WIDTH) -> Snapshot:
    """A snapshot from a JPEG the camera made itself: kept as it is, plus a thumbnail; ValueError if bad."""

    def build() -> Snapshot:
        width, height = jpeg_dimensions(data)
        thumbnail = encode_jpeg(decode_jpeg(data), max_width=thumbnail_width)
        return Snapshot(jpeg=data, thumbnail=thumbnail, width=width, height=height)

    return await asyncio.to_thread(build)

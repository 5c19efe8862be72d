"""Recordings into MP4 without re-encoding: ONVIF replay units as they arrive, and vendor files (.dav, PS).

Re-encoding would cost a core per few cameras and lose quality, so packets are copied as they are: the
mp4 muxer takes Annex-B access units and converts them itself, and PyAV derives the stream's extradata
(avcC / hvcC / esds) from the first keyframe, which therefore carries the parameter sets. Files are
faststart (moov before mdat) so a browser can play an archived file while it downloads, and record
their absolute start (`vtrack_start`, ISO 8601 to the microsecond; `creation_time` for players) because
an MP4 timeline starts at zero and the archive and `verify_media` need to know what time zero was.

Timestamps come from recording times (90 kHz), so a gap in the recording stays a gap in the file and a
position in the file is a position on the wall clock. Decode times are made up: replay carries only
presentation times, so `DecodeTimes` holds a few units back and assigns the sorted presentation times,
shifted by the stream's reorder depth (zero for cameras, which send no B-frames).

The muxer runs in one worker thread fed by a bounded queue of batches, so the event loop keeps serving
the RTSP connection (and everything else) while FFmpeg writes; cancelling the writer closes the file
and ends the thread before the cancellation propagates. The caller owns atomicity: `dest` is written
as given (a `.part` path) and nothing else is.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any, Generic, TypeVar

import av
import av.error

from vtrack.devices.rtsp.depacketize import START_CODE
from vtrack.devices.rtsp.errors import RtspProtocolError
from vtrack.devices.rtsp.probe import decode_keyframe
from vtrack.devices.rtsp.replay import ReplayUnit, utc

log = logging.getLogger(__name__)

START_TAG = "vtrack_start"
CLOCK = 90_000  # ticks per second of replay timestamps
MP4_OPTIONS = {"movflags": "+faststart+use_metadata_tags"}  # the latter keeps START_TAG in the file
BATCH_UNITS = 64  # units per hand-over to the writer thread
BATCH_BYTES = 1 << 20
MAX_PENDING = 8  # batches queued for the writer: the bound on memory when the disk is slower than the link
PROGRESS_INTERVAL = 0.5  # seconds between progress callbacks
_MUXER_CODECS = {"H264": "h264", "H265": "hevc", "MPEG4": "mpeg4"}
_CODEC_NAMES = {"h264": "H264", "hevc": "H265", "mpeg4": "MPEG4"}

Progress = Callable[[int, datetime], Awaitable[None]]
Size = tuple[int, int] | None
_MICROSECOND = timedelta(microseconds=1)
T = TypeVar("T")


class RemuxError(ValueError):
    """A recording that cannot become an MP4: no video, unreadable, nothing to write. Names the file."""


@dataclass(frozen=True)
class WrittenMedia:
    first: datetime  # recording time of the first frame (UTC)
    last: datetime  # recording time of the last frame shown (its start, not its end)
    frames: int
    bytes: int  # size of the file written
    codec: str  # "H264" | "H265" | "MPEG4", or FFmpeg's codec name upper-cased for others


class DecodeTimes(Generic[T]):
    """Decode times for units known by presentation time only: hold `window` units back, hand out the
    smallest presentation time pending minus the reorder depth seen in the first window, kept strictly
    increasing (the mp4 muxer's rule). Without B-frames that is dts = pts."""

    def __init__(self, window: int = 8) -> None:
        self.window = window
        self.frame_ticks = CLOCK // 25
        self.fixed = 0  # units whose pts had to be moved (reordering deeper than the first window's)
        self._pending: deque[tuple[int, T]] = deque()
        self._heap: list[int] = []
        self._delay: int | None = None
        self._last_dts: int | None = None

    def push(self, pts: int, item: T) -> list[tuple[T, int, int]]:
        self._pending.append((pts, item))
        heapq.heappush(self._heap, pts)
        return [self._pop()] if len(self._pending) >= self.window else []

    def flush(self) -> list[tuple[T, int, int]]:
        return [self._pop() for _ in range(len(self._pending))]

    def _pop(self) -> tuple[T, int, int]:
        if self._delay is None:
            shown = sorted(self._heap)
            self._delay = max(0, *(s - p for s, (p, _) in zip(shown, self._pending, strict=True)))
            steps = sorted(b - a for a, b in zip(shown, shown[1:], strict=False) if b > a)
            self.frame_ticks = steps[len(steps) // 2] if steps else self.frame_ticks
        pts, item = self._pending.popleft()
        dts = heapq.heappop(self._heap) - self._delay
        if self._last_dts is not None and dts <= self._last_dts:
            dts = self._last_dts + 1
        if dts > pts:
            pts, self.fixed = dts, self.fixed + 1
        self._last_dts = dts
        return item, pts, dts


def open_mp4(dest: Path, first: datetime) -> av.container.OutputContainer:
    """`dest` as a faststart MP4 that records `first` as its time zero."""
    container = av.open(str(dest), "w", format="mp4", options=MP4_OPTIONS)
    stamp = utc(first).isoformat(timespec="microseconds")
    container.metadata["creation_time"] = stamp
    container.metadata[START_TAG] = stamp
    return container


class _ReplayMuxer:
    """The writer thread's side of `write_replay_mp4`; every method runs in that one thread."""

    def __init__(self, dest: Path, codec: str | None, sets: tuple[bytes, ...] | None, size: Size) -> None:
        self.dest, self.codec, self.parameter_sets, self.size = dest, codec, sets, size
        self.aborted = False  # set from the event loop: skip what is still queued
        self.frames = 0
        self._container: av.container.OutputContainer | None = None
        self._stream: av.stream.Stream | None = None
        self._first_data: bytes | None = None  # the first keyframe, parameter sets in front
        self._base: datetime | None = None
        self._times: DecodeTimes[ReplayUnit] = DecodeTimes()
        self._last_pts = 0

    def write(self, batch: list[ReplayUnit]) -> None:
        for unit in batch:
            if self.aborted:
                return
            if self._base is None and not unit.keyframe:
                continue
            base = self._base or self._start(unit)
            pts = ((unit.time - base) // _MICROSECOND * 9 + 50) // 100  # 90 kHz ticks, rounded
            if pts >= 0:  # a leading picture shown before the first keyframe cannot decode: dropped
                self._mux(self._times.push(pts, unit))

    def _start(self, unit: ReplayUnit) -> datetime:
        codec = self.codec or unit.codec
        if codec not in _MUXER_CODECS:
            raise RemuxError(f"{self.dest.name}: cannot write {codec} video to MP4")
        self.codec = codec
        sets = self.parameter_sets if self.parameter_sets is not None else unit.parameter_sets
        prefix = b"".join(sets) if codec == "MPEG4" else b"".join(START_CODE + nal for nal in sets)
        self._first_data = unit.data if unit.data.startswith(prefix) else prefix + unit.data
        width, height = self.size or self._measure(codec, self._first_data)
        self._container = open_mp4(self.dest, unit.time)
        self._stream = self._container.add_mux_stream(_MUXER_CODECS[codec], width=width, height=height)
        self._stream.time_base = Fraction(1, CLOCK)
        self._base = unit.time
        return unit.time

    def _measure(self, codec: str, keyframe: bytes) -> tuple[int, int]:
        """The picture size, from decoding the first keyframe (one picture, milliseconds)."""
        try:
            frame = decode_keyframe(codec, keyframe)
        except RtspProtocolError as exc:
            log.warning("%s: picture size unknown, first keyframe does not decode: %s", self.dest.name, exc)
            return 0, 0
        return frame.width, frame.height

    def _mux(self, timed: list[tuple[ReplayUnit, int, int]]) -> None:
        container, stream = self._container, self._stream
        if container is None or stream is None:
            raise RuntimeError("the MP4 is not open")
        for unit, pts, dts in timed:
            data, self._first_data = self._first_data or unit.data, None
            packet = av.Packet(data)
            packet.stream, packet.time_base = stream, Fraction(1, CLOCK)
            packet.pts, packet.dts, packet.duration = pts, dts, self._times.frame_ticks
            packet.is_keyframe = unit.keyframe
            container.mux_one(packet)
            self.frames += 1
            self._last_pts = max(self._last_pts, pts)

    def finish(self) -> WrittenMedia:
        if self._base is None:
            self.close()
            raise RemuxError(f"{self.dest.name}: the replay delivered no keyframe, nothing to write")
        self._mux(self._times.flush())
        if self._times.fixed:
            log.warning("%s: %d frames reordered deeper than foreseen", self.dest.name, self._times.fixed)
        self.close()
        last = self._base + timedelta(microseconds=self._last_pts * 1_000_000 // CLOCK)
        return WrittenMedia(self._base, last, self.frames, self.dest.stat().st_size, self.codec or "")

    def close(self) -> None:
        container, self._container = self._container, None
        if container is not None:
            container.close()


async def write_replay_mp4(
    units: AsyncIterator[ReplayUnit],
    dest: Path,
    *,
    codec: str | None = None,
    parameter_sets: tuple[bytes, ...] | None = None,
    width: int | None = None,
    height: int | None = None,
    progress: Progress | None = None,
) -> WrittenMedia:
    """Write `units` (from `replay_range`) to `dest` as an MP4, starting at the first keyframe.

    `codec` and `parameter_sets` default to the first unit's; the picture size, when not given, comes
    from decoding the first keyframe. `progress(bytes_received, latest_unit_time)` is awaited at most
    every PROGRESS_INTERVAL seconds. Raises what `units` raises, RemuxError when no keyframe came, and
    FFmpeg's errors when the disk fails; `dest` is closed (and may hold a partial file) whenever it
    raises or is cancelled.
    """
    size = (width, height) if width and height else None
    muxer = _ReplayMuxer(dest, codec, parameter_sets, size)
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vtrack-mp4")
    pending: deque[asyncio.Future[None]] = deque()
    batch: list[ReplayUnit] = []
    batch_bytes = received = 0
    reported = time.monotonic()
    try:
        async for unit in units:
            batch.append(unit)
            batch_bytes += len(unit.data)
            if len(batch) < BATCH_UNITS and batch_bytes < BATCH_BYTES:
                continue
            received += batch_bytes
            pending.append(asyncio.wrap_future(executor.submit(muxer.write, batch)))
            batch, batch_bytes = [], 0
            if len(pending) >= MAX_PENDING:
                await pending.popleft()  # back-pressure, and the writer's errors surface here
            if progress is not None and time.monotonic() - reported >= PROGRESS_INTERVAL:
                reported = time.monotonic()
                await progress(received, unit.time)
        if batch:
            received += batch_bytes
            pending.append(asyncio.wrap_future(executor.submit(muxer.write, batch)))
        while pending:
            await pending.popleft()
        written = await asyncio.wrap_future(executor.submit(muxer.finish))
        if progress is not None:
            await progress(received, written.last)
        return written
    finally:
        muxer.aborted = True  # batches still queued are skipped
        for future in pending:
            future.cancel()
        closed = asyncio.wrap_future(executor.submit(muxer.close))
        executor.shutdown(wait=False)
        try:  # after finish() this closes nothing; else the error already on its way matters more
            await asyncio.shield(closed)
        except (av.error.FFmpegError, OSError) as exc:
            log.warning("%s: closing the abandoned MP4 failed: %s", dest.name, exc)
        executor.shutdown(wait=True)  # the thread is idle now: this only joins it
        aclose = getattr(units, "aclose", None)
        if aclose is not None:
            await aclose()


def file_start(container: av.container.Container) -> datetime | None:
    """The recording time of a file's time zero: its `vtrack_start` tag, else its `creation_time`."""
    for key in (START_TAG, "creation_time"):
        try:
            return utc(datetime.fromisoformat(container.metadata[key].replace("Z", "+00:00")))
        except (KeyError, ValueError):
            continue
    return None


def _dhav_time(
    source: av.container.InputContainer, video: av.video.stream.VideoStream, dts: int
) -> datetime | None:
    """A .dav file's first frame time: FFmpeg's dhav demuxer stamps frames in ms since 1970."""
    if source.format.name != "dhav" or video.time_base is None:
        return None
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=float(dts * video.time_base))


def _timed(packets: Iterator[av.Packet[Any]]) -> Iterator[tuple[av.Packet[Any], int, int]]:
    """(packet, pts, dts) from the first keyframe on (what precedes it cannot decode, and the mp4 muxer
    takes the parameter sets from the first packet). A missing dts is the pts; packets with neither (a
    program stream packs small frames into one PES with one timestamp) follow the last by a frame."""
    last: int | None = None
    for packet in packets:
        if packet.size == 0 or (last is None and not packet.is_keyframe):
            continue  # the demuxer's end marker, or a frame without its keyframe
        dts = packet.dts if packet.dts is not None else packet.pts
        if dts is None:
            dts = (last or 0) + max(packet.duration or 0, 1)
        last = dts
        yield packet, packet.pts if packet.pts is not None else dts, dts


def remux_file(src: Path, dest: Path, *, start: datetime | None = None) -> WrittenMedia:
    """Copy the video of any container FFmpeg reads (Dahua .dav, MPEG-PS, MP4, ...) into an MP4 at `dest`.

    Video only: NVR audio is mostly G.711, which MP4 does not carry. The first frame's recording time is
    `start` (the NVR's search result) when given, else the file's own (`creation_time`, or a .dav file's
    frame dates, which are the recorder's clock); a file with neither raises RemuxError, as does one
    FFmpeg cannot read, or with no video. Blocking: run it in a worker thread.
    """
    try:
        source = av.open(str(src))
    except av.error.FFmpegError as exc:
        raise RemuxError(
            f"{src.name}: FFmpeg cannot read it ({exc.strerror or type(exc).__name__})"
        ) from None
    with source:
        if not source.streams.video:
            raise RemuxError(f"{src.name} has no video stream")
        video = source.streams.video[0]
        packets = _timed(source.demux(video))
        head = next(packets, None)
        if head is None:
            raise RemuxError(f"{src.name}: its video stream holds no frames")
        origin = head[1]  # the first keyframe's presentation time is the file's time zero
        first = start or file_start(source) or _dhav_time(source, video, origin)
        if first is None:
            raise RemuxError(f"{src.name} carries no recording time: pass the start the search reported")
        frames, previous, last_shown = 0, None, 0
        with open_mp4(dest, first) as output:
            stream = output.add_stream_from_template(video)
            for packet, pts, dts in itertools.chain([head], packets):
                if pts < origin:
                    continue  # a leading picture of an open GOP: it needs the GOP before, not here
                dts -= origin  # negative while B-frames are pending: the muxer writes an edit list
                if previous is not None:
                    dts = max(dts, previous + 1)  # mp4 demands strictly increasing decode times
                    packet.duration = dts - previous  # the demuxer's may be wrong (dhav says 1 ms)
                shown = max(pts - origin, dts)
                packet.dts, packet.pts, packet.stream = dts, shown, stream
                output.mux_one(packet)
                frames, previous, last_shown = frames + 1, dts, max(last_shown, shown)
        name = video.codec_context.name
        last = first + timedelta(seconds=float(last_shown * (video.time_base or 0)))
    return WrittenMedia(
        utc(first), utc(last), frames, dest.stat().st_size, _CODEC_NAMES.get(name, name.upper())
    )

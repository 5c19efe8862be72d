"""Encoding the test pattern with PyAV: x264 / x265 / FFmpeg's mpeg4, tuned for a camera-like stream.

Settings mirror what IP cameras send: no B-frames (zero latency), a keyframe every second, parameter sets
(or the MPEG-4 VOL) in front of every keyframe. One thread per encoder (`thread_count=1`): the simulator
runs several cameras on a small box, and a camera must not grab every core.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import av
from av.video.codeccontext import VideoCodecContext

from vtrack.simulator.config import CameraSpec, Codec
from vtrack.simulator.media.bitstream import (
    learn_parameter_sets,
    mpeg4_config,
    split_annexb,
    with_parameter_sets,
)
from vtrack.simulator.media.pattern import render_yuv420
from vtrack.simulator.media.stream import CLOCK_RATE, AccessUnit, EncodedClip, ParameterSets, StreamInfo

log = logging.getLogger(__name__)

# Where the burned-in clock of the archive loop starts: the loop shows its own position (00:00:00.0 ...),
# not a wall-clock time, because one short loop stands in for every hour of the 7-day archive.
LOOP_CLOCK_ORIGIN = datetime(1970, 1, 1, tzinfo=UTC)

_ENCODERS: dict[Codec, tuple[str, dict[str, str]]] = {
    "h264": ("libx264", {"preset": "ultrafast", "tune": "zerolatency"}),
    "h265": ("libx265", {"preset": "ultrafast", "tune": "zerolatency", "x265-params": "log-level=error"}),
    "mpeg4": ("mpeg4", {}),
}


def _bitrate(width: int, height: int, fps: Fraction) -> int:
    """About 0.1 bit per pixel per frame: what a CCTV camera's default profile looks like."""
    return max(256_000, int(width * height * fps * Fraction(1, 10)))


class PatternEncoder:
    """Turns test-pattern frames into access units for one camera's codec, size and frame rate."""

    def __init__(self, codec: Codec, width: int, height: int, fps: Fraction, seed: int = 0) -> None:
        name, options = _ENCODERS[codec]
        context = av.CodecContext.create(name, "w")
        if not isinstance(context, VideoCodecContext):
            raise TypeError(f"{name} is not a video encoder")
        context.width = width
        context.height = height
        context.pix_fmt = "yuv420p"
        # A time base of one frame: FFmpeg's mpeg4 refuses clocks over 16 bits (vop_time_increment).
        context.time_base = 1 / fps
        context.framerate = fps
        context.gop_size = max(1, round(fps))  # a keyframe every second, like cameras' default GOP
        context.max_b_frames = 0
        if codec == "mpeg4":
            # x264/x265 run at their default constant quality; FFmpeg's mpeg4 needs a target bitrate
            # (its 200 kbit/s default smears the clock digits).
            context.bit_rate = _bitrate(width, height, fps)
        context.thread_count = 1
        context.options = dict(options)
        context.open()
        self._context = context
        self.codec: Codec = codec
        self.width = width
        self.height = height
        self.fps = fps
        self.seed = seed
        self.params = ParameterSets()
        self._frames_in = 0
        self._ticks: dict[int, int] = {}  # encoder pts (frame count) -> caller's 90 kHz presentation time

    @classmethod
    def for_camera(cls, camera: CameraSpec, fps: Fraction | None = None) -> PatternEncoder:
        return cls(camera.codec, camera.width, camera.height, fps or Fraction(camera.fps), seed=camera.index)

    @property
    def gop_size(self) -> int:
        return int(self._context.gop_size)

    def info(self) -> StreamInfo:
        return StreamInfo(self.codec, self.width, self.height, self.fps, self.params)

    def encode(self, when: datetime, frame_number: int, pts: int) -> list[AccessUnit]:
        """Render the pattern showing `when` and `frame_number`, encode it with presentation time `pts`."""
        image = render_yuv420(self.width, self.height, when, frame_number, seed=self.seed)
        return self.encode_frame(av.VideoFrame.from_ndarray(image, format="yuv420p"), pts)

    def encode_frame(self, frame: av.VideoFrame, pts: int) -> list[AccessUnit]:
        """Encode a ready frame (the pattern, or a decoded file being transcoded) shown at `pts`."""
        frame.pts = self._frames_in
        self._ticks[self._frames_in] = pts
        self._frames_in += 1
        return self._collect(self._context.encode(frame))

    def flush(self) -> list[AccessUnit]:
        return self._collect(self._context.encode(None))

    def _collect(self, packets: list[av.Packet[Any]]) -> list[AccessUnit]:
        units = []
        for packet in packets:
            data = bytes(packet)
            if not data:
                continue
            # No B-frames, so packets leave in presentation order and dts == pts.
            pts = self._ticks.pop(int(packet.pts), 0) if packet.pts is not None else 0
            dts = pts
            units.append(self._access_unit(data, packet.is_keyframe, pts, dts))
        return units

    def _access_unit(self, data: bytes, keyframe: bool, pts: int, dts: int) -> AccessUnit:
        if self.codec == "mpeg4":
            header = mpeg4_config(data) if keyframe else None
            if header is not None and self.params.config is None:
                self.params = ParameterSets(config=header)
            if keyframe and header is None and self.params.config is not None:
                data = self.params.config + data
            return AccessUnit((data,), keyframe, pts, dts)
        nals = split_annexb(data)
        self.params = learn_parameter_sets(self.codec, nals, self.params)
        if keyframe:
            nals = with_parameter_sets(self.codec, nals, self.params)
        return AccessUnit(tuple(nals), keyframe, pts, dts)


def encode_pattern_clip(camera: CameraSpec, seconds: float = 4.0, fps: Fraction | None = None) -> EncodedClip:
    """A loop of the camera's test pattern, encoded once: the archive that replay serves.

    The burned-in frame counter is the loop frame index and the clock starts at LOOP_CLOCK_ORIGIN, so a
    client that decodes a replayed frame can check it is the frame the archive mapping promised.
    """
    rate = fps or Fraction(camera.fps)
    encoder = PatternEncoder.for_camera(camera, rate)
    frame_ticks = round(CLOCK_RATE / rate)
    frames = max(1, round(seconds * rate))
    # Whole GOPs only, so the loop restarts on a keyframe without a stutter.
    gop = encoder.gop_size
    frames = max(gop, frames - frames % gop)
    units: list[AccessUnit] = []
    for index in range(frames):
        when = LOOP_CLOCK_ORIGIN + timedelta(seconds=float(index / rate))
        units.extend(encoder.encode(when, index, index * frame_ticks))
    units.extend(encoder.flush())
    log.debug("encoded %d-frame %s loop for camera %d", len(units), camera.codec, camera.channel)
    return EncodedClip(encoder.info(), tuple(units), frames * frame_ticks)

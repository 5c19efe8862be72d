"""Encoded video in the shape the RTSP server needs: parameter sets for the SDP, access units to packetise.

Frames are plain immutable bytes, split once into NAL units (H.264/H.265) or kept whole (MPEG-4 Part 2),
because one encoded frame is fanned out to many clients from the event loop and must never be copied or
re-parsed per client. Times are integer ticks of the 90 kHz RTP video clock so that loop arithmetic and
archive positions are exact (no float drift over a 7-day archive).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

from vtrack.simulator.config import Codec

CLOCK_RATE = 90_000  # RTP clock for video (RFC 6184, RFC 7798, RFC 3016)


@dataclass(frozen=True)
class ParameterSets:
    """What a decoder needs before the first frame; the SDP carries it (sprop-* or config=)."""

    vps: bytes | None = None  # H.265 only
    sps: bytes | None = None  # H.264 / H.265
    pps: bytes | None = None  # H.264 / H.265
    config: bytes | None = None  # MPEG-4 Part 2: VOS + VO + VOL headers, the SDP `config=` bytes

    def complete_for(self, codec: Codec) -> bool:
        """True once every set the codec's SDP needs is known."""
        if codec == "h264":
            return self.sps is not None and self.pps is not None
        if codec == "h265":
            return self.vps is not None and self.sps is not None and self.pps is not None
        return self.config is not None


@dataclass(frozen=True)
class StreamInfo:
    codec: Codec
    width: int
    height: int
    fps: Fraction
    params: ParameterSets

    @property
    def frame_ticks(self) -> int:
        """Nominal duration of one frame in 90 kHz ticks."""
        return round(CLOCK_RATE / self.fps)


@dataclass(frozen=True, slots=True)
class AccessUnit:
    """One coded picture.

    `units` holds NAL units without start codes (H.264/H.265) or the single frame's bytes (MPEG-4).
    `pts` is the presentation time (becomes the RTP timestamp), `dts` the decode time (drives pacing,
    since frames are sent in decode order); both in 90 kHz ticks.
    """

    units: tuple[bytes, ...]
    keyframe: bool
    pts: int
    dts: int

    @property
    def size(self) -> int:
        return sum(len(unit) for unit in self.units)

    def shifted(self, ticks: int) -> AccessUnit:
        """The same picture `ticks` later: how a loop is restamped without touching the bitstream."""
        return replace(self, pts=self.pts + ticks, dts=self.dts + ticks)


@dataclass(frozen=True)
class EncodedClip:
    """A loopable piece of encoded video: starts on a keyframe, `duration` ticks long."""

    info: StreamInfo
    units: tuple[AccessUnit, ...]  # decode order; pts/dts relative to the clip start
    duration: int

    def __post_init__(self) -> None:
        if not self.units or not self.units[0].keyframe:
            raise ValueError("a clip must start with a keyframe")
        if self.duration <= 0:
            raise ValueError("a clip must have a positive duration")

    @property
    def byte_size(self) -> int:
        return sum(unit.size for unit in self.units)

    @property
    def bitrate(self) -> float:
        """Average bits per second over one loop."""
        return self.byte_size * 8 * CLOCK_RATE / self.duration

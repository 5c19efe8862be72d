"""ONVIF replay (Profile G) of a clock range: the recording's access units with their recording times.

FFmpeg cannot send replay's PLAY headers nor read the RTP header extension, so recordings come through
vtrack's own client: DESCRIBE, SETUP, then PLAY with `Require: onvif-replay`, `Range: clock=START-END`
and `Rate-Control: no`, which lets the recorder send as fast as the connection carries (tens of times
real time) instead of pacing at recording speed.

Each access unit's time is the NTP timestamp of the ONVIF header extension (0xABAC) on its first packet:
the recorder's own statement of when the frame was recorded, which survives gaps in the recording (the
RTP clock runs on across a gap). A recorder that sends no extension gets its times from the RTP clock,
anchored by the PLAY reply (RTP-Info's rtptime at the Range reply's start, else the first unit at the
asked start) and re-anchored on every stamped unit, so a stream that stamps only some units stays right.

The range is half-open, [start, end): consecutive chunks of a sync never share a frame. The replay ends
at the recorder's RTCP BYE, at the extension's T (terminal) bit, or at the first unit at or after `end`
(for recorders that overrun the range), whichever comes first. Recorders start at a keyframe near
`start`: at or after it (the simulator) or before it (some NVRs), so the first unit may lie a GOP
either side of `start`; the muxer begins at the first keyframe it is given.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from vtrack.devices.rtsp.client import RtspClient
from vtrack.devices.rtsp.depacketize import AccessUnit, depacketizer_for
from vtrack.devices.rtsp.errors import UnsupportedCodec
from vtrack.devices.rtsp.rtp import RtpPacket
from vtrack.devices.rtsp.wire import RtspResponse

log = logging.getLogger(__name__)

ONVIF_EXTENSION = b"\xab\xac"
FLAG_CLEAN_POINT = 0x80
FLAG_END = 0x40
FLAG_DISCONTINUITY = 0x20
FLAG_TERMINAL = 0x10
REPLAY_HEADERS = {"Require": "onvif-replay", "Rate-Control": "no"}

_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NTP_UNIX_OFFSET = 2_208_988_800  # seconds from 1900-01-01 (NTP's epoch) to 1970-01-01
_CLOCK = re.compile(r"(\d{8}T\d{6})(?:[.,](\d{1,9}))?Z")
_RTPTIME = re.compile(r"rtptime=(\d+)")


@dataclass(frozen=True, slots=True)
class ReplayUnit:
    time: datetime  # when the frame was recorded (UTC), from the ONVIF extension or the RTP clock
    data: bytes  # Annex-B (H.264/H.265) or the elementary stream (MPEG-4), as the depacketizer gives
    keyframe: bool
    codec: str  # "H264" | "H265" | "MPEG4"
    parameter_sets: tuple[bytes, ...]  # the SDP's (see Track.parameter_sets), for the muxer's extradata
    discontinuity: bool = False  # the recorder flagged a gap (or a new PLAY position) before this unit
    stamped: bool = True  # `time` came from the ONVIF extension, not the RTP clock


def utc(when: datetime) -> datetime:
    """`when` in UTC; a naive datetime is taken as UTC (what the database hands back)."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def clock_time(when: datetime) -> str:
    """RFC 2326 `utc-time` with milliseconds, as ONVIF replay asks: 20240131T235959.250Z."""
    when = utc(when)
    return f"{when:%Y%m%dT%H%M%S}.{when.microsecond // 1000:03d}Z"


def clock_range(start: datetime, end: datetime) -> str:
    return f"clock={clock_time(start)}-{clock_time(end)}"


def parse_clock_start(value: str | None) -> datetime | None:
    """The start of a `clock=START-[END]` Range header; None for npt ranges or anything unreadable."""
    if not value or not value.strip().startswith("clock="):
        return None
    match = _CLOCK.match(value.strip()[len("clock=") :])
    if match is None:
        return None
    when = datetime.strptime(match.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    return when.replace(microsecond=int(((match.group(2) or "") + "000000")[:6]))


def ntp_to_datetime(ntp: int) -> datetime:
    """A 64-bit NTP timestamp (seconds since 1900 . binary fraction) as a UTC datetime, to the µs."""
    micros = ((ntp & 0xFFFFFFFF) * 1_000_000 + (1 << 31)) >> 32
    return _UNIX_EPOCH + timedelta(seconds=(ntp >> 32) - _NTP_UNIX_OFFSET, microseconds=micros)


@dataclass(frozen=True, slots=True)
class OnvifStamp:
    time: datetime
    flags: int


def onvif_stamp(extension: bytes | None) -> OnvifStamp | None:
    """The replay extension's time and flags; None when absent, malformed or zero (unknown time)."""
    if extension is None or len(extension) < 13 or extension[:2] != ONVIF_EXTENSION:
        return None
    ntp = int.from_bytes(extension[4:12], "big")
    if ntp >> 32 < _NTP_UNIX_OFFSET:  # zero or before 1970: not a recording time
        return None
    return OnvifStamp(ntp_to_datetime(ntp), extension[12])


def _terminal(extension: bytes | None) -> bool:
    """Whether the replay extension has its T bit (no more units for this PLAY); cheap, per packet."""
    return (
        extension is not None
        and len(extension) > 12
        and extension[:2] == ONVIF_EXTENSION
        and (extension[12] & FLAG_TERMINAL != 0)
    )


class RtpClock:
    """Recording time from RTP timestamps: unwrapped past 2^32, anchored, re-anchored on stamped units."""

    def __init__(self, clock_rate: int, anchor_rtp: int | None, anchor_time: datetime) -> None:
        self.rate = clock_rate or 90_000
        self._last: int | None = None
        self._extended = 0
        self._anchor: tuple[int, datetime] | None = None
        self._pending = (anchor_rtp, anchor_time)  # resolved on the first timestamp seen

    def _extend(self, timestamp: int) -> int:
        if self._last is None:
            self._extended = timestamp
        else:
            delta = (timestamp - self._last) & 0xFFFFFFFF
            self._extended += delta - (1 << 32) if delta >= 1 << 31 else delta
        self._last = timestamp
        return self._extended

    def time(self, timestamp: int) -> datetime:
        extended = self._extend(timestamp)
        if self._anchor is None:
            anchor_rtp, anchor_time = self._pending
            if anchor_rtp is None:
                self._anchor = (extended, anchor_time)
            else:  # RTP-Info's rtptime, taken as the nearest value to this unit's (it may have wrapped)
                delta = (anchor_rtp - timestamp) & 0xFFFFFFFF
                offset = delta - (1 << 32) if delta >= 1 << 31 else delta
                self._anchor = (extended + offset, anchor_time)
        rtp, when = self._anchor
        return when + timedelta(microseconds=round((extended - rtp) * 1_000_000 / self.rate))

    def restamp(self, timestamp: int, when: datetime) -> None:
        self._anchor = (self._extend(timestamp), when)


def _anchor(response: RtspResponse, start: datetime) -> tuple[int | None, datetime]:
    match = _RTPTIME.search(response.header("RTP-Info") or "")
    replied = parse_clock_start(response.header("Range"))
    if match is not None and replied is not None:
        return int(match.group(1)), replied
    return None, start


class _Timer:
    """Turns the depacketizer's units into ReplayUnits with their recording times."""

    def __init__(self, codec: str, parameter_sets: tuple[bytes, ...], clock: RtpClock) -> None:
        self.codec = codec
        self.parameter_sets = parameter_sets
        self.clock = clock
        self.units = 0

    def unit(self, unit: AccessUnit) -> ReplayUnit:
        stamp = onvif_stamp(unit.extension)
        if stamp is None:
            when, gap, stamped = self.clock.time(unit.timestamp), False, False
        else:
            self.clock.restamp(unit.timestamp, stamp.time)
            # D is also set on the first unit of every PLAY: only later ones mark a gap.
            when, gap, stamped = stamp.time, bool(stamp.flags & FLAG_DISCONTINUITY) and self.units > 0, True
        self.units += 1
        return ReplayUnit(when, unit.data, unit.keyframe, self.codec, self.parameter_sets, gap, stamped)


async def replay_range(
    url: str,
    *,
    username: str | None,
    password: str | None,
    start: datetime,
    end: datetime,
    timeout: float,  # noqa: ASYNC109  (bounds each RTSP step and each read, see RtspClient)
) -> AsyncIterator[ReplayUnit]:
    """Units of [start, end) in decode order; raises the RtspError kinds (RtspAuthError, RtspTimeout...).

    Close it (`contextlib.aclosing`) when stopping early: that hangs up with a TEARDOWN.
    """
    start, end = utc(start), utc(end)
    if end <= start:
        raise ValueError(f"replay range ends ({end:%Y-%m-%d %H:%M:%S}) before it starts")
    async with RtspClient(url, username=username, password=password, timeout=timeout) as client:
        sdp = await client.describe()
        track = sdp.video()
        if track is None or track.codec is None:
            raise UnsupportedCodec(f"recorder at {client.where} offers no H.264, H.265 or MPEG-4 video")
        depacketizer = depacketizer_for(track)
        channels = await client.setup(track)
        response = await client.play(range_header=clock_range(start, end), headers=REPLAY_HEADERS)
        timer = _Timer(
            depacketizer.codec, track.parameter_sets, RtpClock(track.clock_rate, *_anchor(response, start))
        )
        async with contextlib.aclosing(client.packets()) as packets:
            async for packet in packets:
                if not isinstance(packet, RtpPacket) or packet.channel != channels.rtp:
                    continue
                for unit in depacketizer.push(packet):
                    replay_unit = timer.unit(unit)
                    if replay_unit.time >= end:
                        return
                    yield replay_unit
                if _terminal(packet.extension):
                    break  # the recorder's last packet for this PLAY; its BYE needs no waiting for
        for unit in depacketizer.flush():
            replay_unit = timer.unit(unit)
            if replay_unit.time < end:
                yield replay_unit
        log.debug(
            "replayed %d units of %s from %s (%d packets lost, %d units dropped)",
            timer.units,
            clock_range(start, end),
            client.where,
            depacketizer.lost_packets,
            depacketizer.dropped_units,
        )

"""RTP payloads back into access units: H.264 (RFC 6184), H.265 (RFC 7798), MPEG-4 Visual (RFC 6416).

An access unit ends at the marker bit, or when a packet with a new timestamp arrives (cameras that never
set the marker). A sequence gap spoils the unit it falls in: the unit is dropped whole and the gap counted
in `lost_packets`, because a decoder fed a unit with a hole produces smeared frames a snapshot must never
show. Output is Annex-B (start codes) for H.264/H.265 and the elementary stream for MPEG-4, so FFmpeg's
parsers and decoders take it without extradata; the SDP's parameter sets go in front of the first
keyframe for cameras that only send them in the SDP. Each unit keeps the RTP header extension of its
first packet, where ONVIF replay puts the recording time.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from vtrack.devices.rtsp.errors import UnsupportedCodec
from vtrack.devices.rtsp.rtp import RtpPacket
from vtrack.devices.rtsp.sdp import Track

START_CODE = b"\x00\x00\x00\x01"
_VOP_START = b"\x00\x00\x01\xb6"
MAX_MISORDER = 100  # a packet this far behind is a duplicate; farther, a restart of the numbering


@dataclass(frozen=True, slots=True)
class AccessUnit:
    timestamp: int  # RTP timestamp
    data: bytes
    keyframe: bool
    received_at: float  # time.monotonic() of its last packet
    extension: bytes | None  # RTP header extension of its first packet, profile id included


class Depacketizer(ABC):
    """Feeds on RTP packets of one track; `push` returns the access units they complete."""

    codec: str

    def __init__(self, parameter_sets: tuple[bytes, ...] = ()) -> None:
        self.parameter_sets = parameter_sets
        self.lost_packets = 0
        self.dropped_units = 0
        self._expected: int | None = None
        self._parts: list[bytes] = []
        self._timestamp: int | None = None
        self._extension: bytes | None = None
        self._received_at = 0.0
        self._broken = False
        self._seen_keyframe = False

    def reset(self) -> None:
        """Forget sequence and partial unit, e.g. after a new PLAY restarts numbering."""
        self._expected = None
        self._clear()

    def push(self, packet: RtpPacket) -> list[AccessUnit]:
        out: list[AccessUnit] = []
        gap = 0
        if self._expected is not None and packet.sequence != self._expected:
            gap = (packet.sequence - self._expected) & 0xFFFF
            if gap >= 0x8000 and 0x10000 - gap <= MAX_MISORDER:
                return out  # a duplicate or a late packet: already counted as lost
            if gap >= 0x8000:  # far behind: the sender restarted its numbering (a new PLAY)
                self._broken = self._timestamp is not None  # the unit in progress will never complete
                out += self._finish()
                gap = 0
            self.lost_packets += gap
        self._expected = (packet.sequence + 1) & 0xFFFF
        if self._timestamp is not None and packet.timestamp != self._timestamp:
            self._broken |= gap > 0  # the lost packets may have been its tail...
            out += self._finish()
        self._broken |= gap > 0  # ...or this unit's head: both are dropped
        if self._timestamp is None:
            self._timestamp = packet.timestamp
            self._extension = packet.extension
        self._received_at = packet.received_at
        if not self._add(packet.payload):
            self._broken = True
        if packet.marker:
            out += self._finish()
        return out

    def flush(self) -> list[AccessUnit]:
        """The unit in progress, if whole (at the end of a stream)."""
        return self._finish()

    def _finish(self) -> list[AccessUnit]:
        if self._timestamp is None:
            return []
        whole = not self._broken and self._complete() and bool(self._parts)
        data = b"".join(self._parts) if whole else b""
        unit = (self._timestamp, self._received_at, self._extension)
        keyframe = whole and self._is_keyframe(data)
        self._clear()
        if not whole:
            self.dropped_units += 1
            return []
        if keyframe and not self._seen_keyframe:
            self._seen_keyframe = True
            data = self._prefix() + data
        return [AccessUnit(unit[0], data, keyframe, unit[1], unit[2])]

    def _clear(self) -> None:
        self._parts = []
        self._timestamp = None
        self._extension = None
        self._broken = False

    def _complete(self) -> bool:
        """False when the unit ended inside a fragmented NAL unit."""
        return True

    @abstractmethod
    def _add(self, payload: bytes) -> bool:
        """Append one payload's data to `_parts`; False when the payload is malformed or out of place."""

    @abstractmethod
    def _is_keyframe(self, data: bytes) -> bool: ...

    def _prefix(self) -> bytes:
        return b"".join(START_CODE + nal for nal in self.parameter_sets)


class _NalDepacketizer(Depacketizer):
    """H.264 and H.265 share the shape: single NAL units, aggregates, fragments; only headers differ."""

    header_size: int
    single_types: range  # NAL unit types sent alone
    aggregate: int
    fragment: int
    keyframe_types: frozenset[int]

    def __init__(self, parameter_sets: tuple[bytes, ...] = ()) -> None:
        super().__init__(parameter_sets)
        self._fragmenting = False
        self._types: set[int] = set()

    def _clear(self) -> None:
        super()._clear()
        self._fragmenting = False
        self._types = set()

    def _complete(self) -> bool:
        return not self._fragmenting

    def _is_keyframe(self, data: bytes) -> bool:
        return not self._types.isdisjoint(self.keyframe_types)

    def _add(self, payload: bytes) -> bool:
        if len(payload) <= self.header_size:
            return False
        kind = self._type(payload[0])
        if kind == self.fragment:
            return self._add_fragment(payload)
        if self._fragmenting:
            return False  # a fragmented NAL unit was cut short
        if kind == self.aggregate:
            return self._add_aggregate(payload)
        if kind not in self.single_types:
            return False  # STAP-B, MTAP, FU-B, PACI, reserved: not what cameras send
        self._types.add(kind)
        self._parts += (START_CODE, payload)
        return True

    def _add_aggregate(self, payload: bytes) -> bool:
        pos = self.header_size
        while pos + 2 <= len(payload):
            size = int.from_bytes(payload[pos : pos + 2], "big")
            if size == 0 or pos + 2 + size > len(payload):
                return False
            nal = payload[pos + 2 : pos + 2 + size]
            self._types.add(self._type(nal[0]))
            self._parts += (START_CODE, nal)
            pos += 2 + size
        return True

    def _add_fragment(self, payload: bytes) -> bool:
        fu = payload[self.header_size]
        if fu & 0x80:  # start
            if self._fragmenting:
                return False
            header = self._nal_header(payload, fu)
            self._types.add(self._type(header[0]))
            self._parts += (START_CODE, header)
            self._fragmenting = True
        elif not self._fragmenting:
            return False  # the start fragment was lost
        self._parts.append(payload[self.header_size + 1 :])
        if fu & 0x40:  # end
            self._fragmenting = False
        return True

    @abstractmethod
    def _type(self, first_byte: int) -> int: ...

    @abstractmethod
    def _nal_header(self, payload: bytes, fu: int) -> bytes:
        """The fragmented NAL unit's own header, rebuilt from the payload header and FU header."""


class H264Depacketizer(_NalDepacketizer):
    codec = "H264"
    header_size = 1
    single_types = range(1, 24)
    aggregate = 24  # STAP-A
    fragment = 28  # FU-A
    keyframe_types = frozenset({5})  # IDR slice

    def _type(self, first_byte: int) -> int:
        return first_byte & 0x1F

    def _nal_header(self, payload: bytes, fu: int) -> bytes:
        return bytes([(payload[0] & 0xE0) | (fu & 0x1F)])


class H265Depacketizer(_NalDepacketizer):
    codec = "H265"
    header_size = 2
    single_types = range(0, 48)
    aggregate = 48  # AP
    fragment = 49  # FU
    keyframe_types = frozenset(range(16, 22))  # IRAP: BLA, IDR, CRA

    def _type(self, first_byte: int) -> int:
        return (first_byte >> 1) & 0x3F

    def _nal_header(self, payload: bytes, fu: int) -> bytes:
        return bytes([(payload[0] & 0x81) | ((fu & 0x3F) << 1), payload[1]])


class Mpeg4Depacketizer(Depacketizer):
    """RFC 6416: the frame is the payloads' concatenation; the SDP `config` (VOS/VOL) is the prefix."""

    codec = "MPEG4"

    def _add(self, payload: bytes) -> bool:
        self._parts.append(payload)
        return True

    def _is_keyframe(self, data: bytes) -> bool:
        pos = data.find(_VOP_START)
        return pos >= 0 and pos + 4 < len(data) and data[pos + 4] >> 6 == 0

    def _prefix(self) -> bytes:
        return b"".join(self.parameter_sets)


def depacketizer_for(track: Track) -> Depacketizer:
    codec = track.codec
    if codec == "H264":
        return H264Depacketizer(track.parameter_sets)
    if codec == "H265":
        return H265Depacketizer(track.parameter_sets)
    if codec == "MPEG4":
        return Mpeg4Depacketizer(track.parameter_sets)
    name = f"{track.media} {track.encoding or f'payload type {track.payload_type}'}"
    raise UnsupportedCodec(f"vtrack cannot read {name} streams (H.264, H.265 and MPEG-4 only)")

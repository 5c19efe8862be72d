"""RTP payload formats: how one access unit becomes a list of RTP payloads.

- H.264, RFC 6184 packetization-mode=1: a NAL unit that fits goes alone (single NAL unit packet); a
  larger one is cut into FU-A fragments (type 28) behind a 2-byte FU indicator/header.
- H.265, RFC 7798: single NAL unit packets, or FU packets (type 49) with a 3-byte PayloadHdr/FU header.
- MPEG-4 Visual, RFC 3016 (MP4V-ES): the frame's bytes, split across packets where it does not fit.
The marker bit (set by rtp.packetize on the last payload) ends the access unit in every format.

Payloads stop at MAX_PAYLOAD so a packet with the 16-byte ONVIF extension stays within a 1400-byte MTU.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Protocol

from vtrack.simulator.config import Codec
from vtrack.simulator.media.stream import AccessUnit

MTU = 1400
MAX_PAYLOAD = MTU - 12 - 16  # RTP header, ONVIF replay extension


class Packetizer(Protocol):
    def payloads(self, unit: AccessUnit) -> list[bytes]: ...


def _fragment(nal: bytes, header: bytes, kind: int, skip: int, limit: int) -> list[bytes]:
    """FU fragments (RFC 6184 FU-A / RFC 7798 FU): `header` stands for the NAL header, whose `skip`
    bytes are dropped; each fragment adds a FU header byte with start/end bits and the NAL type."""
    body = memoryview(nal)[skip:]
    step = limit - len(header) - 1
    out = []
    for offset in range(0, len(body), step):
        start = 0x80 if offset == 0 else 0
        end = 0x40 if offset + step >= len(body) else 0
        out.append(header + bytes([start | end | kind]) + body[offset : offset + step])
    return out


class _NalPacketizer(ABC):
    """Small NAL units go as they are; larger ones are split into FU fragments of the codec's kind."""

    def __init__(self, max_payload: int = MAX_PAYLOAD) -> None:
        self.max_payload = max_payload

    def payloads(self, unit: AccessUnit) -> list[bytes]:
        out: list[bytes] = []
        for nal in unit.units:
            out += [nal] if len(nal) <= self.max_payload else self.fragments(nal)
        return out

    @abstractmethod
    def fragments(self, nal: bytes) -> list[bytes]:
        """The FU packets for one NAL unit too large for a single packet."""


class H264Packetizer(_NalPacketizer):
    def fragments(self, nal: bytes) -> list[bytes]:
        # FU indicator: the NAL's F and NRI bits with type 28.
        return _fragment(nal, bytes([(nal[0] & 0xE0) | 28]), nal[0] & 0x1F, 1, self.max_payload)


class H265Packetizer(_NalPacketizer):
    def fragments(self, nal: bytes) -> list[bytes]:
        # PayloadHdr: the NAL header with its type replaced by 49 (F bit, LayerId and TID kept).
        header = bytes([(nal[0] & 0x81) | (49 << 1), nal[1]])
        return _fragment(nal, header, (nal[0] >> 1) & 0x3F, 2, self.max_payload)


class Mpeg4Packetizer:
    def __init__(self, max_payload: int = MAX_PAYLOAD) -> None:
        self.max_payload = max_payload

    def payloads(self, unit: AccessUnit) -> list[bytes]:
        frame = b"".join(unit.units)
        step = self.max_payload
        return [frame[offset : offset + step] for offset in range(0, len(frame), step)] or [b""]


def packetizer_for(codec: Codec, max_payload: int = MAX_PAYLOAD) -> Packetizer:
    if codec == "h264":
        return H264Packetizer(max_payload)
    if codec == "h265":
        return H265Packetizer(max_payload)
    return Mpeg4Packetizer(max_payload)

"""RTP and RTCP packets as the client receives them (RFC 3550).

The header extension is kept whole (profile id, length, data) because ONVIF replay puts the recording's
NTP time and clean-point/end flags there (profile 0xABAC) and Step 4 reads them per access unit. RTCP
is only looked into for BYE, which ends a replayed range.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from vtrack.devices.rtsp.errors import RtspProtocolError

_HEADER = struct.Struct("!BBHII")
RTCP_BYE = 203


@dataclass(frozen=True, slots=True)
class RtpPacket:
    channel: int
    payload_type: int
    marker: bool
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    extension: bytes | None  # profile id (2 bytes), length in words (2 bytes), data; as on the wire
    received_at: float  # time.monotonic() when it was read


@dataclass(frozen=True, slots=True)
class RtcpPacket:
    channel: int
    data: bytes  # a compound packet, as received
    received_at: float

    @property
    def is_bye(self) -> bool:
        """Whether any packet of the compound is a BYE (the sender stops: end of stream)."""
        pos, data = 0, self.data
        while pos + 4 <= len(data):
            if data[pos + 1] == RTCP_BYE:
                return True
            pos += 4 * (int.from_bytes(data[pos + 2 : pos + 4], "big") + 1)
        return False


def parse_rtp(channel: int, data: bytes, received_at: float) -> RtpPacket:
    if len(data) < 12 or data[0] >> 6 != 2:
        raise RtspProtocolError(f"malformed RTP packet on channel {channel} ({len(data)} bytes)")
    first, second, sequence, timestamp, ssrc = _HEADER.unpack_from(data)
    pos = 12 + 4 * (first & 0x0F)
    extension = None
    if first & 0x10:
        if pos + 4 > len(data):
            raise RtspProtocolError(f"RTP packet on channel {channel} cut inside its header extension")
        end = pos + 4 + 4 * int.from_bytes(data[pos + 2 : pos + 4], "big")
        extension = data[pos:end]
        pos = end
    end = len(data)
    if first & 0x20 and end > pos:  # padding: the last byte counts the bytes to drop
        end -= data[-1]
    if pos > end:
        raise RtspProtocolError(f"RTP packet on channel {channel} is shorter than its header")
    return RtpPacket(
        channel,
        second & 0x7F,
        bool(second & 0x80),
        sequence,
        timestamp,
        ssrc,
        data[pos:end],
        extension,
        received_at,
    )

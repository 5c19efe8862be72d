"""RTP and RTCP packets as bytes (RFC 3550), plus the ONVIF replay header extension.

Headers are packed with one precompiled struct per packet: a live access unit is packetised once and
shared by every client, and replay with `Rate-Control: no` builds tens of thousands of packets a second,
so this is the server's innermost loop.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

PAYLOAD_TYPE = 96  # the dynamic payload type every track uses (a=rtpmap:96)
ONVIF_EXTENSION_ID = 0xABAC

_HEADER = struct.Struct("!BBHII")
_ONVIF_EXTENSION = struct.Struct("!HHQBBH")  # id, length in words (3), NTP, flags, CSeq, padding
_INTERLEAVED = struct.Struct("!cBH")
_SENDER_REPORT = struct.Struct("!BBHIQIII")
_BYE = struct.Struct("!BBHI")

# Flags of the ONVIF replay extension (ONVIF Streaming Specification, "RTP header extension").
FLAG_CLEAN_POINT = 0x80  # C: the access unit is a random access point
FLAG_END = 0x40  # E: last access unit of a contiguous section of recording
FLAG_DISCONTINUITY = 0x20  # D: first access unit after a gap (or a new PLAY position)
FLAG_TERMINAL = 0x10  # T: last access unit the server will send for this PLAY


@dataclass(frozen=True, slots=True)
class OnvifStamp:
    """The replay extension's content: when the access unit was recorded, and its flags."""

    ntp: int
    flags: int
    cseq: int

    def pack(self) -> bytes:
        return _ONVIF_EXTENSION.pack(ONVIF_EXTENSION_ID, 3, self.ntp, self.flags, self.cseq & 0xFF, 0)


def packetize(
    payloads: Sequence[bytes],
    *,
    ssrc: int,
    first_seq: int,
    timestamp: int,
    first_extension: bytes = b"",
    last_extension: bytes = b"",
) -> list[bytes]:
    """RTP packets for one access unit: marker bit on the last, optional extensions on first/last."""
    packets = []
    last = len(payloads) - 1
    ts = timestamp & 0xFFFFFFFF
    for i, payload in enumerate(payloads):
        extension = first_extension if i == 0 else b""
        if i == last and last_extension:
            extension = last_extension
        first_byte = 0x90 if extension else 0x80
        second_byte = PAYLOAD_TYPE | (0x80 if i == last else 0)
        header = _HEADER.pack(first_byte, second_byte, (first_seq + i) & 0xFFFF, ts, ssrc)
        packets.append(header + extension + payload)
    return packets


def interleave(channel: int, packets: Sequence[bytes]) -> bytes:
    """RTSP interleaved framing (RFC 2326 10.12): `$`, channel, 16-bit length, packet; all concatenated."""
    parts = []
    for packet in packets:
        parts.append(_INTERLEAVED.pack(b"$", channel, len(packet)))
        parts.append(packet)
    return b"".join(parts)


def sender_report(ssrc: int, ntp: int, rtp_timestamp: int, packets: int, octets: int) -> bytes:
    """RTCP SR without report blocks: maps an RTP timestamp to wall-clock (NTP) time for the client."""
    return _SENDER_REPORT.pack(
        0x80, 200, 6, ssrc, ntp, rtp_timestamp & 0xFFFFFFFF, packets & 0xFFFFFFFF, octets & 0xFFFFFFFF
    )


def bye(ssrc: int) -> bytes:
    """RTCP BYE: the stream has ended (end of a replay range)."""
    return _BYE.pack(0x81, 203, 1, ssrc)


@dataclass(frozen=True, slots=True)
class RtpHeader:
    """A parsed RTP header, for the server's own RTCP/diagnostics and for tests' receivers."""

    marker: bool
    payload_type: int
    seq: int
    timestamp: int
    ssrc: int
    extension_id: int | None
    extension: bytes
    payload: bytes


def parse_rtp(packet: bytes) -> RtpHeader:
    if len(packet) < 12 or packet[0] >> 6 != 2:
        raise ValueError("not an RTP version 2 packet")
    first, second, seq, timestamp, ssrc = _HEADER.unpack_from(packet)
    pos = 12 + 4 * (first & 0x0F)
    extension_id: int | None = None
    extension = b""
    if first & 0x10:
        extension_id, words = struct.unpack_from("!HH", packet, pos)
        extension = packet[pos + 4 : pos + 4 + 4 * words]
        pos += 4 + 4 * words
    end = len(packet) - (packet[-1] if first & 0x20 else 0)
    return RtpHeader(
        bool(second & 0x80), second & 0x7F, seq, timestamp, ssrc, extension_id, extension, packet[pos:end]
    )

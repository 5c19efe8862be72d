"""Receivers for the three RTP payload formats, written from the RFCs, to check the packetizers round-trip.

Kept in the tests: the server only sends. Each returns the access unit's NAL units (or frame bytes)
from the payloads of one access unit, in order.
"""

from __future__ import annotations


def h264_units(payloads: list[bytes]) -> list[bytes]:
    """RFC 6184: single NAL unit packets, STAP-A (24) and FU-A (28)."""
    units: list[bytes] = []
    fragment = bytearray()
    for payload in payloads:
        kind = payload[0] & 0x1F
        if kind == 28:
            fu_header = payload[1]
            if fu_header & 0x80:
                fragment = bytearray([(payload[0] & 0xE0) | (fu_header & 0x1F)])
            fragment += payload[2:]
            if fu_header & 0x40:
                units.append(bytes(fragment))
        elif kind == 24:
            pos = 1
            while pos + 2 <= len(payload):
                size = int.from_bytes(payload[pos : pos + 2], "big")
                units.append(payload[pos + 2 : pos + 2 + size])
                pos += 2 + size
        else:
            units.append(payload)
    return units


def h265_units(payloads: list[bytes]) -> list[bytes]:
    """RFC 7798: single NAL unit packets and FU (49)."""
    units: list[bytes] = []
    fragment = bytearray()
    for payload in payloads:
        kind = (payload[0] >> 1) & 0x3F
        if kind == 49:
            fu_header = payload[2]
            if fu_header & 0x80:
                fragment = bytearray([(payload[0] & 0x81) | ((fu_header & 0x3F) << 1), payload[1]])
            fragment += payload[3:]
            if fu_header & 0x40:
                units.append(bytes(fragment))
        else:
            units.append(payload)
    return units


def mpeg4_frame(payloads: list[bytes]) -> bytes:
    """RFC 3016: the frame is the concatenation of the payloads up to the marker."""
    return b"".join(payloads)

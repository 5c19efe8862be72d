"""Depacketizers fed hand-made RTP packets: aggregation, fragmentation, loss, boundaries, keyframes."""

from __future__ import annotations

import struct

import pytest

from vtrack.devices.rtsp.depacketize import (
    H264Depacketizer,
    H265Depacketizer,
    Mpeg4Depacketizer,
    depacketizer_for,
)
from vtrack.devices.rtsp.errors import RtspProtocolError, UnsupportedCodec
from vtrack.devices.rtsp.rtp import RtcpPacket, RtpPacket, parse_rtp
from vtrack.devices.rtsp.sdp import Track

SC = b"\x00\x00\x00\x01"
SPS = bytes.fromhex("6742001fe900a00b7420")
PPS = bytes.fromhex("68ce3c80")
IDR = bytes([0x65]) + bytes(range(1, 200))  # NAL type 5, NRI 3
SLICE = bytes([0x41]) + b"\x11" * 50  # NAL type 1


def rtp(
    seq: int, ts: int, payload: bytes, *, marker: bool = False, extension: bytes | None = None
) -> RtpPacket:
    return RtpPacket(0, 96, marker, seq & 0xFFFF, ts, 1234, payload, extension, float(seq))


def fu_a(nal: bytes, pieces: int) -> list[bytes]:
    body, step = nal[1:], -(-(len(nal) - 1) // pieces)
    out = []
    for i in range(pieces):
        header = (0x80 if i == 0 else 0) | (0x40 if i == pieces - 1 else 0) | (nal[0] & 0x1F)
        out.append(bytes([(nal[0] & 0xE0) | 28, header]) + body[i * step : (i + 1) * step])
    return out


def stap_a(*nals: bytes) -> bytes:
    return bytes([0x18]) + b"".join(struct.pack("!H", len(n)) + n for n in nals)


def test_h264_stap_a_and_fu_a_make_one_annex_b_keyframe_with_sdp_parameter_sets() -> None:
    d = H264Depacketizer((SPS, PPS))
    packets = [stap_a(SPS, PPS), *fu_a(IDR, 3)]
    units = []
    for i, payload in enumerate(packets):
        units += d.push(
            rtp(100 + i, 9000, payload, marker=i == len(packets) - 1, extension=b"ext" if i == 0 else None)
        )
    (unit,) = units
    assert unit.keyframe and unit.timestamp == 9000 and unit.received_at == 103.0
    assert unit.data == SC + SPS + SC + PPS + SC + SPS + SC + PPS + SC + IDR  # SDP sets first, then in-band
    assert unit.extension == b"ext"
    # the parameter sets go in front of the first keyframe only
    (second,) = d.push(rtp(104, 12000, SLICE, marker=True))
    (third,) = d.push(rtp(105, 15000, IDR, marker=True))
    assert second.data == SC + SLICE and not second.keyframe
    assert third.data == SC + IDR and third.keyframe
    assert d.lost_packets == 0 and d.dropped_units == 0


def test_a_lost_fragment_drops_that_unit_only() -> None:
    d = H264Depacketizer()
    start, middle, end = fu_a(IDR, 3)
    assert d.push(rtp(1, 100, start)) == []
    assert d.push(rtp(3, 100, end, marker=True)) == []  # seq 2 (the middle) never came
    assert d.lost_packets == 1 and d.dropped_units == 1
    (unit,) = d.push(rtp(4, 200, SLICE, marker=True))
    assert unit.data == SC + SLICE


def test_a_lost_start_fragment_and_a_lost_marker_packet() -> None:
    d = H264Depacketizer()
    _start, middle, end = fu_a(IDR, 3)
    assert d.push(rtp(10, 100, middle)) == []  # the first packet we see is a middle fragment
    assert d.push(rtp(11, 100, end, marker=True)) == []
    assert d.dropped_units == 1 and d.lost_packets == 0
    # the marker packet of ts=200 is lost; the next unit's first packet reveals the gap and ends it
    assert d.push(rtp(12, 200, SLICE)) == []
    assert d.push(rtp(14, 300, SLICE, marker=True)) == []  # unit 200 broken, and 300's head is suspect
    (unit,) = d.push(rtp(15, 400, SLICE, marker=True))
    assert unit.timestamp == 400 and d.lost_packets == 1 and d.dropped_units == 3


def test_timestamp_change_ends_a_unit_when_the_marker_is_never_set() -> None:
    d = H264Depacketizer()
    assert d.push(rtp(1, 100, SLICE)) == []
    assert d.push(rtp(2, 100, SLICE)) == []
    (unit,) = d.push(rtp(3, 200, IDR))
    assert unit.timestamp == 100 and unit.data == SC + SLICE + SC + SLICE
    (last,) = d.flush()
    assert last.timestamp == 200 and last.keyframe


def test_duplicates_are_ignored_and_sequence_numbers_wrap() -> None:
    d = H264Depacketizer()
    assert d.push(rtp(65535, 100, SLICE, marker=True))
    assert d.push(rtp(65535, 100, SLICE, marker=True)) == []  # duplicate
    assert d.push(rtp(0, 200, SLICE, marker=True))  # wraps to 0
    assert d.lost_packets == 0
    d.push(rtp(5, 300, SLICE, marker=True))
    assert d.lost_packets == 4
    # numbering restarted far behind (a new PLAY without reset()): resynchronise, nothing counted lost
    assert d.push(rtp(40000, 400, SLICE)) == []
    (unit,) = d.push(rtp(40001, 400, SLICE, marker=True))
    assert unit.timestamp == 400 and d.lost_packets == 4


def test_unsupported_and_malformed_payloads_break_the_unit() -> None:
    d = H264Depacketizer()
    assert d.push(rtp(1, 100, bytes([0x19, 0, 0]), marker=True)) == []  # STAP-B
    assert d.push(rtp(2, 200, stap_a(SLICE)[:-5], marker=True)) == []  # size runs past the end
    assert d.dropped_units == 2


def test_h265_aggregation_and_fragmentation_irap_keyframes() -> None:
    vps, sps, pps = bytes([0x40, 0x01, 0xAA]), bytes([0x42, 0x01, 0xBB]), bytes([0x44, 0x01, 0xCC])
    cra = bytes([21 << 1, 0x01]) + bytes(range(100))  # CRA_NUT: IRAP
    trail = bytes([1 << 1, 0x01]) + b"\x22" * 30
    d = H265Depacketizer((vps, sps, pps))
    ap = bytes([48 << 1, 0x01]) + b"".join(struct.pack("!H", len(n)) + n for n in (vps, sps, pps))
    body = cra[2:]
    fu = [
        bytes([49 << 1, 0x01, 0x80 | 21]) + body[:50],
        bytes([49 << 1, 0x01, 0x40 | 21]) + body[50:],
    ]
    units = d.push(rtp(1, 0, ap)) + d.push(rtp(2, 0, fu[0])) + d.push(rtp(3, 0, fu[1], marker=True))
    (unit,) = units
    assert unit.keyframe
    assert unit.data == SC + vps + SC + sps + SC + pps + SC + vps + SC + sps + SC + pps + SC + cra
    (p,) = d.push(rtp(4, 3000, trail, marker=True))
    assert not p.keyframe and p.data == SC + trail


def test_mpeg4_frames_end_at_the_marker_and_i_vops_are_keyframes() -> None:
    config = bytes.fromhex("000001B0F5000001B509000001000000012000C48881F4514043C1463F")
    i_vop = b"\x00\x00\x01\xb6" + bytes([0x10]) + b"\x55" * 100  # vop_coding_type 00
    p_vop = b"\x00\x00\x01\xb6" + bytes([0x50]) + b"\x66" * 40  # vop_coding_type 01
    d = Mpeg4Depacketizer((config,))
    assert d.push(rtp(1, 0, i_vop[:60])) == []
    (first,) = d.push(rtp(2, 0, i_vop[60:], marker=True))
    assert first.keyframe and first.data == config + i_vop
    (second,) = d.push(rtp(3, 3000, p_vop, marker=True))
    assert not second.keyframe and second.data == p_vop


def test_depacketizer_for_refuses_what_it_cannot_read() -> None:
    jpeg = Track("video", 26, "JPEG", 90000, "rtsp://h/t")
    with pytest.raises(UnsupportedCodec, match="JPEG"):
        depacketizer_for(jpeg)
    assert isinstance(depacketizer_for(Track("video", 96, "H265", 90000, "rtsp://h/t")), H265Depacketizer)


def test_rtp_parsing_with_csrc_extension_and_padding() -> None:
    extension = struct.pack("!HHQBBH", 0xABAC, 3, 0x1234, 0x80, 7, 0)
    header = struct.pack("!BBHII", 0x80 | 0x20 | 0x10 | 1, 0x80 | 96, 42, 90000, 0xDEADBEEF)
    data = header + b"\x00\x00\x00\x05" + extension + b"payload" + b"\x00\x00\x03"
    packet = parse_rtp(2, data, 1.5)
    assert (packet.channel, packet.payload_type, packet.marker, packet.sequence) == (2, 96, True, 42)
    assert packet.timestamp == 90000 and packet.ssrc == 0xDEADBEEF
    assert packet.extension == extension and packet.payload == b"payload"
    with pytest.raises(RtspProtocolError):
        parse_rtp(0, b"\x80\x60\x00", 0.0)


def test_rtcp_bye_is_found_inside_a_compound_packet() -> None:
    sender_report = struct.pack("!BBHIQIII", 0x80, 200, 6, 1, 0, 0, 0, 0)
    bye = struct.pack("!BBHI", 0x81, 203, 1, 1)
    assert RtcpPacket(1, sender_report + bye, 0.0).is_bye
    assert not RtcpPacket(1, sender_report, 0.0).is_bye

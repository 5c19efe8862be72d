"""Packetizers round-trip: what an RFC receiver reassembles is exactly what was packetised."""

from __future__ import annotations

import random

import pytest

from tests.simulator.rtsp.depacketize import h264_units, h265_units, mpeg4_frame
from vtrack.simulator.config import CameraSpec, default_cameras
from vtrack.simulator.media.encode import encode_pattern_clip
from vtrack.simulator.media.stream import AccessUnit
from vtrack.simulator.rtsp.payload import (
    MAX_PAYLOAD,
    MTU,
    H264Packetizer,
    H265Packetizer,
    Mpeg4Packetizer,
    packetizer_for,
)
from vtrack.simulator.rtsp.rtp import (
    FLAG_CLEAN_POINT,
    OnvifStamp,
    interleave,
    packetize,
    parse_rtp,
)


def _random_nal(rng: random.Random, header: bytes, size: int) -> bytes:
    return header + rng.randbytes(size - len(header))


@pytest.mark.parametrize("size", [1, 100, MAX_PAYLOAD, MAX_PAYLOAD + 1, 5000, 100_003])
def test_h264_round_trip_single_and_fu_a(size: int) -> None:
    rng = random.Random(size)
    sps, pps = bytes([0x67, 0x64, 0x00, 0x1F]) + rng.randbytes(10), bytes([0x68, 0xEE, 0x3C, 0x80])
    idr = _random_nal(rng, bytes([0x65]), max(size, 1))
    unit = AccessUnit((sps, pps, idr), True, 0, 0)
    payloads = H264Packetizer().payloads(unit)
    assert all(len(p) <= MAX_PAYLOAD for p in payloads)
    assert h264_units(payloads) == [sps, pps, idr]
    if size > MAX_PAYLOAD:
        fragments = [p for p in payloads if p[0] & 0x1F == 28]
        assert fragments[0][1] & 0x80 and fragments[-1][1] & 0x40  # start and end bits
        assert all(p[0] & 0x60 == idr[0] & 0x60 for p in fragments)  # NRI carried in the FU indicator


@pytest.mark.parametrize("size", [2, 700, MAX_PAYLOAD + 1, 40_000])
def test_h265_round_trip_single_and_fu(size: int) -> None:
    rng = random.Random(size)
    vps = bytes([0x40, 0x01]) + rng.randbytes(20)
    idr = _random_nal(rng, bytes([0x26, 0x01]), max(size, 2))  # IDR_W_RADL, layer 0, tid 1
    unit = AccessUnit((vps, idr), True, 0, 0)
    payloads = H265Packetizer().payloads(unit)
    assert all(len(p) <= MAX_PAYLOAD for p in payloads)
    assert h265_units(payloads) == [vps, idr]
    if size > MAX_PAYLOAD:
        assert all((p[0] >> 1) & 0x3F == 49 for p in payloads[1:])
        assert payloads[1][1] == idr[1]  # LayerId/TID preserved in the PayloadHdr


@pytest.mark.parametrize("size", [1, MAX_PAYLOAD, MAX_PAYLOAD * 3 + 7])
def test_mpeg4_round_trip(size: int) -> None:
    frame = b"\x00\x00\x01\xb6" + random.Random(size).randbytes(size)
    payloads = Mpeg4Packetizer().payloads(AccessUnit((frame,), False, 0, 0))
    assert mpeg4_frame(payloads) == frame
    assert all(len(p) <= MAX_PAYLOAD for p in payloads)


def test_rtp_headers_marker_sequence_and_onvif_extension() -> None:
    payloads = [b"a" * MAX_PAYLOAD, b"b" * 10, b"c" * 5]
    stamp = OnvifStamp(ntp=(3_900_000_000 << 32) | 0x80000000, flags=FLAG_CLEAN_POINT, cseq=0x1234)
    packets = packetize(
        payloads, ssrc=0xDEADBEEF, first_seq=0xFFFF, timestamp=2**32 + 5, first_extension=stamp.pack()
    )
    assert all(len(p) <= MTU for p in packets)
    parsed = [parse_rtp(p) for p in packets]
    assert [p.seq for p in parsed] == [0xFFFF, 0, 1]  # wraps
    assert [p.marker for p in parsed] == [False, False, True]
    assert {p.timestamp for p in parsed} == {5} and {p.ssrc for p in parsed} == {0xDEADBEEF}
    assert [p.payload for p in parsed] == payloads
    assert parsed[0].extension_id == 0xABAC and len(parsed[0].extension) == 12
    assert parsed[0].extension[:8] == stamp.ntp.to_bytes(8, "big")
    assert parsed[0].extension[8] == FLAG_CLEAN_POINT and parsed[0].extension[9] == 0x34
    assert parsed[1].extension_id is None


def test_interleaved_framing() -> None:
    framed = interleave(2, [b"xyz", b"12"])
    assert framed == b"$\x02\x00\x03xyz$\x02\x00\x0212"


@pytest.mark.parametrize("camera", default_cameras(3), ids=lambda c: c.codec)
def test_real_encoded_frames_round_trip(camera: CameraSpec) -> None:
    """Frames from the real encoders (large IDRs, parameter sets, SEI) survive packetisation unchanged."""
    clip = encode_pattern_clip(camera, seconds=1.0)
    packetizer = packetizer_for(camera.codec)
    for unit in clip.units[:5]:
        payloads = packetizer.payloads(unit)
        if camera.codec == "h264":
            assert h264_units(payloads) == list(unit.units)
        elif camera.codec == "h265":
            assert h265_units(payloads) == list(unit.units)
        else:
            assert mpeg4_frame(payloads) == unit.units[0]

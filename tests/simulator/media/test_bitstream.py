"""Bitstream framing: Annex-B and length-prefixed samples become the same bare NAL units."""

from __future__ import annotations

import pytest

from vtrack.simulator.media.bitstream import (
    mpeg4_config,
    mpeg4_profile_level,
    parse_avcc,
    parse_hvcc,
    split_annexb,
    split_length_prefixed,
    with_parameter_sets,
)
from vtrack.simulator.media.stream import ParameterSets

SPS = bytes.fromhex("6764001facd1005005bb016a02020280")
PPS = bytes.fromhex("68eb8f2c")
IDR = bytes.fromhex("65888400ff00aa")


def test_annexb_with_three_and_four_byte_start_codes() -> None:
    stream = b"\x00\x00\x00\x01" + SPS + b"\x00\x00\x01" + PPS + b"\x00\x00\x00\x01" + IDR
    assert split_annexb(stream) == [SPS, PPS, IDR]


def test_length_prefixed_sample() -> None:
    sample = b"".join(len(n).to_bytes(4, "big") + n for n in (SPS, PPS, IDR))
    assert split_length_prefixed(sample, 4) == [SPS, PPS, IDR]
    with pytest.raises(ValueError, match="overruns"):
        split_length_prefixed(sample[:-1], 4)


def test_avcc_record() -> None:
    record = (
        bytes([1, 0x64, 0x00, 0x1F, 0xFF, 0xE1])
        + len(SPS).to_bytes(2, "big")
        + SPS
        + bytes([1])
        + len(PPS).to_bytes(2, "big")
        + PPS
    )
    parsed = parse_avcc(record)
    assert parsed.length_size == 4 and parsed.nals == (SPS, PPS)


def test_hvcc_record() -> None:
    vps, sps, pps = b"\x40\x01\x0c", b"\x42\x01\x01", b"\x44\x01\xc0"
    record = bytearray(22)
    record[0] = 1
    record[21] = 0x03  # lengthSizeMinusOne = 3
    record += bytes([3])
    for kind, nal in ((32, vps), (33, sps), (34, pps)):
        record += bytes([0x80 | kind]) + (1).to_bytes(2, "big") + len(nal).to_bytes(2, "big") + nal
    parsed = parse_hvcc(bytes(record))
    assert parsed.length_size == 4 and parsed.nals == (vps, sps, pps)


def test_parameter_sets_are_put_in_front_of_bare_keyframes_only() -> None:
    params = ParameterSets(sps=SPS, pps=PPS)
    assert with_parameter_sets("h264", [IDR], params) == [SPS, PPS, IDR]
    assert with_parameter_sets("h264", [SPS, PPS, IDR], params) == [SPS, PPS, IDR]


def test_mpeg4_config_is_the_header_before_the_first_vop() -> None:
    header = bytes.fromhex("000001b001000001b58913000001000000012000c48d88")
    frame = header + bytes.fromhex("000001b3001047000001b61234")
    assert mpeg4_config(frame) == header
    assert mpeg4_config(bytes.fromhex("000001b61234")) is None
    assert mpeg4_profile_level(header) == 1

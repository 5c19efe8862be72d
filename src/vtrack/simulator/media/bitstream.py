"""Bitstream framing: Annex-B and length-prefixed NAL units, avcC/hvcC records, MPEG-4 headers.

Encoders (x264/x265 through PyAV) emit Annex-B; MP4/MKV/AVI files often carry length-prefixed (AVCC/HVCC)
packets described by an avcC/hvcC extradata record. RTP wants neither: it carries bare NAL units
(RFC 6184/7798), so everything is normalised here to lists of NAL units without start codes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from vtrack.simulator.config import Codec
from vtrack.simulator.media.stream import ParameterSets

H264_IDR = 5
H264_SPS = 7
H264_PPS = 8
H265_VPS = 32
H265_SPS = 33
H265_PPS = 34
_H265_IRAP = range(16, 24)  # BLA/IDR/CRA (and reserved IRAP types): random access points
_MPEG4_GOV = b"\x00\x00\x01\xb3"
_MPEG4_VOP = b"\x00\x00\x01\xb6"


def h264_type(nal: bytes) -> int:
    return nal[0] & 0x1F


def h265_type(nal: bytes) -> int:
    return (nal[0] >> 1) & 0x3F


def split_annexb(data: bytes) -> list[bytes]:
    """NAL units of an Annex-B byte stream, start codes (3 or 4 bytes) and trailing zeros removed."""
    nals: list[bytes] = []
    start = data.find(b"\x00\x00\x01")
    while start >= 0:
        begin = start + 3
        nxt = data.find(b"\x00\x00\x01", begin)
        end = len(data) if nxt < 0 else nxt
        nal = data[begin:end].rstrip(b"\x00") if nxt >= 0 else data[begin:end]
        if nal:
            nals.append(nal)
        start = nxt
    return nals


def split_length_prefixed(data: bytes, length_size: int) -> list[bytes]:
    """NAL units of an AVCC/HVCC sample: each preceded by a big-endian length of `length_size` bytes."""
    nals: list[bytes] = []
    pos = 0
    while pos + length_size <= len(data):
        size = int.from_bytes(data[pos : pos + length_size], "big")
        pos += length_size
        if size == 0:
            continue
        if pos + size > len(data):
            raise ValueError(f"NAL unit of {size} bytes overruns the {len(data)}-byte packet")
        nals.append(data[pos : pos + size])
        pos += size
    return nals


def looks_like_annexb(data: bytes) -> bool:
    return data.startswith(b"\x00\x00\x01") or data.startswith(b"\x00\x00\x00\x01")


@dataclass(frozen=True)
class NalConfig:
    """What an avcC/hvcC record says: the prefix length of each NAL unit and the parameter sets."""

    length_size: int
    nals: tuple[bytes, ...]


def parse_avcc(record: bytes) -> NalConfig:
    """ISO/IEC 14496-15 AVCDecoderConfigurationRecord."""
    if len(record) < 7 or record[0] != 1:
        raise ValueError("not an avcC record")
    length_size = (record[4] & 0x03) + 1
    nals: list[bytes] = []
    pos = 5
    for count_mask in (0x1F, 0xFF):  # SPS count has 5 bits, PPS count 8
        count = record[pos] & count_mask
        pos += 1
        for _ in range(count):
            size = int.from_bytes(record[pos : pos + 2], "big")
            nals.append(record[pos + 2 : pos + 2 + size])
            pos += 2 + size
    return NalConfig(length_size, tuple(nals))


def parse_hvcc(record: bytes) -> NalConfig:
    """ISO/IEC 14496-15 HEVCDecoderConfigurationRecord."""
    if len(record) < 23 or record[0] != 1:
        raise ValueError("not an hvcC record")
    length_size = (record[21] & 0x03) + 1
    arrays = record[22]
    pos = 23
    nals: list[bytes] = []
    for _ in range(arrays):
        count = int.from_bytes(record[pos + 1 : pos + 3], "big")
        pos += 3
        for _ in range(count):
            size = int.from_bytes(record[pos : pos + 2], "big")
            nals.append(record[pos + 2 : pos + 2 + size])
            pos += 2 + size
    return NalConfig(length_size, tuple(nals))


def is_parameter_set(codec: Codec, nal: bytes) -> bool:
    if codec == "h264":
        return h264_type(nal) in (H264_SPS, H264_PPS)
    return h265_type(nal) in (H265_VPS, H265_SPS, H265_PPS)


def is_random_access(codec: Codec, nal: bytes) -> bool:
    if codec == "h264":
        return h264_type(nal) == H264_IDR
    return h265_type(nal) in _H265_IRAP


def learn_parameter_sets(
    codec: Codec, nals: list[bytes] | tuple[bytes, ...], known: ParameterSets
) -> ParameterSets:
    """`known` updated with the first VPS/SPS/PPS found in `nals` (later ones do not override)."""
    found = known
    for nal in nals:
        if codec == "h264":
            kind = h264_type(nal)
            if kind == H264_SPS and found.sps is None:
                found = replace(found, sps=nal)
            elif kind == H264_PPS and found.pps is None:
                found = replace(found, pps=nal)
        elif codec == "h265":
            kind = h265_type(nal)
            if kind == H265_VPS and found.vps is None:
                found = replace(found, vps=nal)
            elif kind == H265_SPS and found.sps is None:
                found = replace(found, sps=nal)
            elif kind == H265_PPS and found.pps is None:
                found = replace(found, pps=nal)
    return found


def with_parameter_sets(codec: Codec, nals: list[bytes], params: ParameterSets) -> list[bytes]:
    """A keyframe's NAL units with the parameter sets in front when it lacks them.

    Real cameras repeat SPS/PPS before every IDR so a client joining mid-stream (or one that ignores the
    SDP's sprop-parameter-sets) can start decoding; encoders that put them only in extradata would
    otherwise produce streams some clients cannot open.
    """
    if any(is_parameter_set(codec, nal) for nal in nals):
        return nals
    front = [ps for ps in (params.vps, params.sps, params.pps) if ps is not None]
    return front + nals


def mpeg4_config(frame: bytes) -> bytes | None:
    """The VOS/VO/VOL headers in front of a keyframe: everything before its first GOV or VOP start code."""
    ends = [pos for pos in (frame.find(_MPEG4_GOV), frame.find(_MPEG4_VOP)) if pos > 0]
    return frame[: min(ends)] if ends else None


def mpeg4_profile_level(config: bytes) -> int:
    """profile_and_level_indication from the VOS header (00 00 01 B0 xx); 1 (Simple@L1) if absent."""
    pos = config.find(b"\x00\x00\x01\xb0")
    return config[pos + 4] if 0 <= pos and pos + 4 < len(config) else 1

"""A user's video file (`--video`) as a loopable clip, demuxed with PyAV and never re-encoded when avoidable.

H.264, H.265 and MPEG-4 Part 2 pass through bit-exact: packets are demuxed, length-prefixed (AVCC/HVCC)
samples are split into NAL units with the extradata's prefix size, and the extradata's parameter sets are
put in front of keyframes that lack them. Any other codec (MJPEG, VP9, ...) cannot be carried by the RTP
payload formats the server speaks, so it is transcoded once to H.264 with the pattern encoder's settings.

AVI stores no presentation times, only decode order; for streams with B-frames FFmpeg then reports
pts = dts + delay, which would stamp RTP packets with decode times. In that case the file is decoded once
(not re-encoded) to learn the true presentation order from the decoder's output.
"""

from __future__ import annotations

import logging
import statistics
from fractions import Fraction
from pathlib import Path

import av
from av.video.stream import VideoStream

from vtrack.simulator.config import Codec
from vtrack.simulator.media.bitstream import (
    learn_parameter_sets,
    looks_like_annexb,
    mpeg4_config,
    parse_avcc,
    parse_hvcc,
    split_annexb,
    split_length_prefixed,
    with_parameter_sets,
)
from vtrack.simulator.media.encode import PatternEncoder
from vtrack.simulator.media.stream import CLOCK_RATE, AccessUnit, EncodedClip, ParameterSets, StreamInfo

log = logging.getLogger(__name__)

_PASSTHROUGH: dict[str, Codec] = {"h264": "h264", "hevc": "h265", "mpeg4": "mpeg4"}
_NO_PTS_FORMATS = {"avi", "h264", "hevc", "m4v", "mpeg4"}  # containers that only know decode order
DEFAULT_MAX_SECONDS = 300.0

_Raw = list[tuple[tuple[bytes, ...], bool, int, int]]  # (units, keyframe, pts, dts) straight from the demuxer


def load_video_clip(
    path: Path, max_seconds: float = DEFAULT_MAX_SECONDS, *, size: tuple[int, int] | None = None
) -> EncodedClip:
    """The first `max_seconds` of `path`'s first video stream as a clip that starts on a keyframe.

    With `size` the frames are scaled to it and transcoded to H.264 (a camera's sub stream).
    """
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise ValueError(f"{path} has no video stream")
        stream = container.streams.video[0]
        if size is not None:
            return _transcode(container, stream, max_seconds, size)
        codec = _PASSTHROUGH.get(stream.codec_context.name)
        if codec is None:
            log.info(
                "%s is %s, not H.264/H.265/MPEG-4: transcoding once to H.264", path, stream.codec_context.name
            )
            return _transcode(container, stream, max_seconds)
        # Formats without presentation times (AVI, elementary streams) may hide B-frame reordering.
        learn_order = codec != "mpeg4" and container.format.name.split(",")[0] in _NO_PTS_FORMATS
        return _passthrough(container, stream, codec, max_seconds, learn_order)


def _frame_ticks(stream: VideoStream, dts_ticks: list[int]) -> int:
    """Duration of one frame: the median decode-time step, which AVI's nominal frame rate can misstate."""
    steps = [b - a for a, b in zip(dts_ticks, dts_ticks[1:], strict=False) if b > a]
    if steps:
        return int(statistics.median(steps))
    rate = stream.guessed_rate or stream.average_rate or Fraction(25)
    return round(CLOCK_RATE / rate)


def _passthrough(
    container: av.container.InputContainer,
    stream: VideoStream,
    codec: Codec,
    max_seconds: float,
    learn_order: bool,
) -> EncodedClip:
    context = stream.codec_context
    extradata = bytes(context.extradata or b"")
    length_size = 0
    params = ParameterSets()
    if codec == "mpeg4":
        params = ParameterSets(config=mpeg4_config(extradata + b"\x00\x00\x01\xb6") if extradata else None)
    elif extradata and extradata[0] == 1:
        record = parse_avcc(extradata) if codec == "h264" else parse_hvcc(extradata)
        length_size = record.length_size
        params = learn_parameter_sets(codec, record.nals, params)
    elif extradata:
        params = learn_parameter_sets(codec, split_annexb(extradata), params)

    time_base = stream.time_base or Fraction(1, CLOCK_RATE)
    raw: _Raw = []
    limit = round(max_seconds * CLOCK_RATE)
    shown: list[int] = []  # with learn_order: packet pts in the order the decoder shows the frames
    if learn_order:
        stream.thread_type = "AUTO"
    for packet in container.demux(stream):
        data = bytes(packet)
        if not data or packet.dts is None and packet.pts is None:
            continue
        if not raw and not packet.is_keyframe:
            continue  # a loop must begin where a decoder can
        dts = round((packet.dts if packet.dts is not None else packet.pts or 0) * time_base * CLOCK_RATE)
        pts = round((packet.pts if packet.pts is not None else packet.dts or 0) * time_base * CLOCK_RATE)
        if raw and dts - raw[0][3] >= limit and packet.is_keyframe:
            break
        units: tuple[bytes, ...]
        if codec == "mpeg4":
            header = mpeg4_config(data) if packet.is_keyframe else None
            if header is not None and params.config is None:
                params = ParameterSets(config=header)
            units = (data,)
        else:
            nals = (
                split_annexb(data)
                if length_size == 0 or looks_like_annexb(data)
                else (split_length_prefixed(data, length_size))
            )
            params = learn_parameter_sets(codec, nals, params)
            units = tuple(nals)
        raw.append((units, packet.is_keyframe, pts, dts))
        if learn_order:
            shown.extend(_shown_pts(packet.decode(), time_base))
    if learn_order:
        shown.extend(_shown_pts(context.decode(None), time_base))
    if not raw:
        raise ValueError("the video has no keyframe to start from")
    if not params.complete_for(codec):
        raise ValueError(f"could not find the {codec} parameter sets in the file")

    frame_ticks = _frame_ticks(stream, [r[3] for r in raw])
    if learn_order:
        raw = _presentation_times(raw, shown, frame_ticks)
    origin = raw[0][3]
    units_out: list[AccessUnit] = []
    for nal_units, keyframe, pts, dts in raw:
        if keyframe and codec == "mpeg4" and mpeg4_config(nal_units[0]) is None and params.config:
            nal_units = (params.config + nal_units[0],)
        elif keyframe and codec != "mpeg4":
            nal_units = tuple(with_parameter_sets(codec, list(nal_units), params))
        units_out.append(AccessUnit(nal_units, keyframe, pts - origin, dts - origin))
    duration = raw[-1][3] - origin + frame_ticks
    info = StreamInfo(codec, context.width, context.height, Fraction(CLOCK_RATE, frame_ticks), params)
    return EncodedClip(info, tuple(units_out), duration)


def _shown_pts(frames: list[av.VideoFrame], time_base: Fraction) -> list[int]:
    return [round(frame.pts * time_base * CLOCK_RATE) for frame in frames if frame.pts is not None]


def _presentation_times(raw: _Raw, shown: list[int], frame_ticks: int) -> _Raw:
    """Timestamps for a container that only knows decode order (AVI): one frame per packet.

    Decode times are the packet index on a regular grid (AVI is constant frame rate; its own stamps
    can be off by half a frame at the end). Presentation times come from the decoder, which hands
    frames out in display order, each tagged with the stamp of the packet it came from: the packet
    shown k-th is presented at k frames, plus the reorder delay that keeps pts >= dts.
    """
    rank = {pts: k for k, pts in enumerate(shown)}
    if len(rank) != len(raw) or any(entry[2] not in rank for entry in raw):
        log.info("decoder output does not match the packets; using decode order as presentation order")
        return [(units, key, i * frame_ticks, i * frame_ticks) for i, (units, key, _, _) in enumerate(raw)]
    ranks = [rank[entry[2]] for entry in raw]
    delay = max(0, max(i - r for i, r in enumerate(ranks)))
    if any(r != i for i, r in enumerate(ranks)):
        log.info("presentation order recovered from the decoder (B-frames in a container without pts)")
    return [
        (units, key, (r + delay) * frame_ticks, i * frame_ticks)
        for i, ((units, key, _, _), r) in enumerate(zip(raw, ranks, strict=True))
    ]


def _transcode(
    container: av.container.InputContainer,
    stream: VideoStream,
    max_seconds: float,
    size: tuple[int, int] | None = None,
) -> EncodedClip:
    """Decode and re-encode to H.264: for codecs RTP cannot carry as they are, and for scaled copies."""
    rate = stream.guessed_rate or stream.average_rate or Fraction(25)
    width, height = size or (stream.codec_context.width & ~1, stream.codec_context.height & ~1)
    encoder = PatternEncoder("h264", width, height, Fraction(rate))
    frame_ticks = round(CLOCK_RATE / rate)
    units: list[AccessUnit] = []
    count = 0
    for frame in container.decode(stream):
        if count * frame_ticks >= max_seconds * CLOCK_RATE and count % encoder.gop_size == 0:
            break
        image = frame.reformat(width=width, height=height, format="yuv420p")
        units.extend(encoder.encode_frame(image, count * frame_ticks))
        count += 1
    units.extend(encoder.flush())
    if not units:
        raise ValueError("the video has no decodable frames")
    return EncodedClip(encoder.info(), tuple(units), count * frame_ticks)

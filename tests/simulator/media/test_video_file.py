"""A --video file is served bit-exact: demuxed, split into NAL units, never re-encoded."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from tests.shared_data import PEOPLE_VIDEO
from vtrack.simulator.media.bitstream import h264_type, split_length_prefixed
from vtrack.simulator.media.stream import CLOCK_RATE
from vtrack.simulator.media.video_file import load_video_clip

DEMO_VIDEO = PEOPLE_VIDEO
needs_demo = pytest.mark.skipif(
    not DEMO_VIDEO.exists(), reason=f"demo video {DEMO_VIDEO} is not on this machine"
)


@needs_demo
def test_demo_avi_passes_through_with_presentation_order_recovered() -> None:
    clip = load_video_clip(DEMO_VIDEO)
    info = clip.info
    # The AVI header claims 50 fps; its packets step 2/50 s apart, so the stream is really 25 fps.
    assert (info.codec, info.width, info.height, info.fps) == ("h264", 1280, 720, Fraction(25))
    assert info.params.sps is not None and h264_type(info.params.sps) == 7
    assert clip.units[0].keyframe and h264_type(clip.units[0].units[0]) == 7
    assert all(not nal.startswith(b"\x00\x00\x01") for unit in clip.units for nal in unit.units)
    # B-frames: decode times are regular, presentation times are a permutation of the same grid.
    step = info.frame_ticks
    assert [u.dts for u in clip.units] == [i * step for i in range(len(clip.units))]
    assert [u.pts for u in clip.units] != sorted(u.pts for u in clip.units)
    offset = min(u.pts for u in clip.units)
    assert sorted(u.pts - offset for u in clip.units) == [u.dts for u in clip.units]
    assert all(u.pts >= u.dts for u in clip.units)
    assert clip.duration == len(clip.units) * step
    # Bit-exact: the clip's NAL units are the file's length-prefixed packets, unchanged.
    with av.open(str(DEMO_VIDEO)) as container:
        packets = [bytes(p) for p in container.demux(container.streams.video[0]) if p.size]
    assert list(clip.units[1].units) == split_length_prefixed(packets[1], 4)
    assert list(clip.units[0].units)[2:] == split_length_prefixed(packets[0], 4)


def _write_mp4(path: Path, codec: str, frames: int = 12) -> None:
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=12)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p" if codec != "mjpeg" else "yuvj420p"
        for i in range(frames):
            image = np.full((120, 160, 3), i * 20 % 255, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def test_mp4_with_avcc_extradata(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    _write_mp4(path, "libx264")
    clip = load_video_clip(path)
    assert clip.info.codec == "h264" and (clip.info.width, clip.info.height) == (160, 120)
    assert clip.info.fps == 12 and clip.duration == 12 * CLOCK_RATE // 12
    assert clip.info.params.complete_for("h264")


def test_codec_rtp_cannot_carry_is_transcoded_to_h264(tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    _write_mp4(path, "mjpeg")
    clip = load_video_clip(path)
    assert clip.info.codec == "h264" and len(clip.units) == 12 and clip.units[0].keyframe


def test_a_sub_stream_is_the_file_scaled_down_to_h264(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    _write_mp4(path, "mpeg4", frames=24)
    clip = load_video_clip(path, 1.0, size=(80, 60))
    assert (clip.info.codec, clip.info.width, clip.info.height) == ("h264", 80, 60)
    assert len(clip.units) == 12 and clip.units[0].keyframe  # one second of the two, whole GOPs


def test_file_without_video_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "audio.wav"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("pcm_s16le", rate=8000, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), dtype=np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        for packet in stream.encode(frame):
            out.mux(packet)
    with pytest.raises(ValueError, match="no video"):
        load_video_clip(path)

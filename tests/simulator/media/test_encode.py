"""The test pattern encodes into camera-like streams every client can decode."""

from __future__ import annotations

import av
import pytest

from vtrack.simulator.config import CameraSpec, default_cameras
from vtrack.simulator.media.bitstream import h264_type, h265_type
from vtrack.simulator.media.encode import encode_pattern_clip
from vtrack.simulator.media.pattern import text_mask
from vtrack.simulator.media.stream import CLOCK_RATE

_DECODERS = {"h264": "h264", "h265": "hevc", "mpeg4": "mpeg4"}


def _small(camera: CameraSpec) -> CameraSpec:
    return CameraSpec(index=camera.index, name=camera.name, width=320, height=240, codec=camera.codec, fps=10)


@pytest.mark.parametrize("camera", [_small(c) for c in default_cameras(3)], ids=lambda c: c.codec)
def test_loop_is_whole_gops_with_parameter_sets_and_decodes(camera: CameraSpec) -> None:
    clip = encode_pattern_clip(camera, seconds=2.0)
    assert clip.info.params.complete_for(camera.codec)
    assert (clip.info.width, clip.info.height, clip.info.fps) == (320, 240, 10)
    assert clip.duration == 20 * CLOCK_RATE // 10 and len(clip.units) == 20
    keyframes = [i for i, unit in enumerate(clip.units) if unit.keyframe]
    assert keyframes == [0, 10]  # a keyframe every second
    assert [u.pts for u in clip.units] == [i * 9000 for i in range(20)]
    for index in keyframes:  # every keyframe starts with its parameter sets, as cameras send them
        first = clip.units[index].units[0]
        if camera.codec == "h264":
            assert h264_type(first) == 7
        elif camera.codec == "h265":
            assert h265_type(first) == 32
        else:
            assert first.startswith(clip.info.params.config or b"?")
    decoder = av.CodecContext.create(_DECODERS[camera.codec], "r")
    frames = []
    for unit in clip.units:
        if camera.codec == "mpeg4":
            data = unit.units[0]
        else:
            data = b"".join(b"\x00\x00\x00\x01" + nal for nal in unit.units)
        frames.extend(decoder.decode(av.Packet(data)))
    frames.extend(decoder.decode(None))
    assert len(frames) == 20 and (frames[0].width, frames[0].height) == (320, 240)


def test_loop_burns_in_its_frame_index() -> None:
    """Frame k of the archive loop shows counter k: what a replay client checks."""
    camera = CameraSpec(index=0, name="x", width=640, height=360, codec="h264", fps=10)
    clip = encode_pattern_clip(camera, seconds=1.0)
    decoder = av.CodecContext.create("h264", "r")
    frames = []
    for unit in clip.units:
        frames.extend(decoder.decode(av.Packet(b"".join(b"\x00\x00\x00\x01" + n for n in unit.units))))
    frames.extend(decoder.decode(None))
    scale = 360 // 120
    for index in (0, 7):
        luma = frames[index].to_ndarray(format="gray")
        expected = text_mask(f"{index:08d}", scale)
        h, w = expected.shape
        region = luma[scale * 12 : scale * 12 + h, scale * 2 : scale * 2 + w]
        assert ((region > 128) == expected).mean() > 0.97

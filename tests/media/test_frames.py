"""JPEG encoding, decoding and sizing on frames built with numpy, and snapshots from the simulator."""

from __future__ import annotations

import asyncio
import struct

import av
import numpy as np
import pytest

from tests.media.conftest import H264, MPEG4, OFFLINE, PASSWORD, USERNAME, Cameras
from vtrack.media.errors import StreamError
from vtrack.media.frames import (
    capture_snapshot,
    decode_jpeg,
    encode_jpeg,
    grab_frame,
    jpeg_dimensions,
    snapshot_from_frame,
    snapshot_from_jpeg,
)

RED, GREEN, BLUE, GREY = (220, 30, 30), (30, 200, 40), (20, 40, 210), (128, 128, 128)


def quadrants(width: int, height: int) -> av.VideoFrame:
    """Four flat colours, one per quadrant: easy to check after scaling and lossy coding."""
    image = np.empty((height, width, 3), dtype=np.uint8)
    h, w = height // 2, width // 2
    image[:h, :w], image[:h, w:], image[h:, :w], image[h:, w:] = RED, GREEN, BLUE, GREY
    return av.VideoFrame.from_ndarray(image, format="rgb24")


def noise(width: int, height: int, seed: int = 0) -> av.VideoFrame:
    image = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return av.VideoFrame.from_ndarray(image, format="rgb24")


def centre_colours(frame: av.VideoFrame) -> list[tuple[int, ...]]:
    rgb = frame.to_ndarray(format="rgb24").astype(int)
    h, w = rgb.shape[:2]
    points = [(h // 4, w // 4), (h // 4, 3 * w // 4), (3 * h // 4, w // 4), (3 * h // 4, 3 * w // 4)]
    return [tuple(rgb[y, x]) for y, x in points]


def assert_colours_close(found: list[tuple[int, ...]], expected: list[tuple[int, int, int]]) -> None:
    for got, want in zip(found, expected, strict=True):
        assert max(abs(a - b) for a, b in zip(got, want, strict=True)) <= 12, (got, want)


def test_round_trip_keeps_size_and_colours() -> None:
    data = encode_jpeg(quadrants(640, 360))
    assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"
    assert jpeg_dimensions(data) == (640, 360)
    decoded = decode_jpeg(data)
    assert (decoded.width, decoded.height) == (640, 360)
    assert_colours_close(centre_colours(decoded), [RED, GREEN, BLUE, GREY])


def test_limited_range_camera_frames_come_out_with_the_right_levels() -> None:
    """Cameras decode to limited-range yuv420p; the JPEG (full range) must not wash out or crush."""
    camera_frame = quadrants(320, 240).reformat(format="yuv420p")
    assert_colours_close(centre_colours(decode_jpeg(encode_jpeg(camera_frame))), [RED, GREEN, BLUE, GREY])


@pytest.mark.parametrize(
    ("size", "thumbnail"),
    [
        ((1920, 1080), (320, 180)),
        ((800, 600), (320, 240)),
        ((1280, 720), (320, 180)),
        ((2560, 1440), (320, 180)),
    ],
)
def test_thumbnail_keeps_the_aspect_ratio(size: tuple[int, int], thumbnail: tuple[int, int]) -> None:
    data = encode_jpeg(quadrants(*size), max_width=320)
    assert jpeg_dimensions(data) == thumbnail
    assert_colours_close(centre_colours(decode_jpeg(data)), [RED, GREEN, BLUE, GREY])


def test_odd_aspect_is_rounded_to_even_sizes() -> None:
    assert jpeg_dimensions(encode_jpeg(quadrants(1000, 333), max_width=320)) == (320, 106)


def test_a_frame_narrower_than_max_width_is_not_enlarged() -> None:
    assert jpeg_dimensions(encode_jpeg(quadrants(200, 150), max_width=320)) == (200, 150)


def test_odd_sized_frames_encode() -> None:
    data = encode_jpeg(quadrants(321, 241))
    assert jpeg_dimensions(data) == (321, 241)
    assert (decode_jpeg(data).width, decode_jpeg(data).height) == (321, 241)


def test_quality_trades_size_for_fidelity() -> None:
    frame = noise(320, 240)
    sizes = [len(encode_jpeg(frame, quality=q)) for q in (10, 50, 85, 95)]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1] / 2


@pytest.mark.parametrize("quality", [0, 101])
def test_quality_out_of_range_is_refused(quality: int) -> None:
    with pytest.raises(ValueError, match="quality"):
        encode_jpeg(quadrants(64, 64), quality=quality)


def test_decode_of_a_vendor_jpeg_can_be_thumbnailed() -> None:
    vendor = encode_jpeg(quadrants(1280, 720), quality=95)
    thumb = encode_jpeg(decode_jpeg(vendor), max_width=320)
    assert jpeg_dimensions(thumb) == (320, 180)


def _with_exif_before_sof(data: bytes) -> bytes:
    """An APP1 segment (and fill bytes) between SOI and the rest, as cameras' JPEGs often have."""
    payload = b"Exif\x00\x00" + bytes(100)
    return data[:2] + b"\xff\xff" + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + data[2:]


def test_dimensions_skip_segments_before_the_frame_header() -> None:
    data = _with_exif_before_sof(encode_jpeg(quadrants(160, 90)))
    assert jpeg_dimensions(data) == (160, 90)
    assert decode_jpeg(data).width == 160


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "SOI"),
        (b"\x89PNG\r\n\x1a\n" + bytes(40), "SOI"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "truncated"),
        (b"\xff\xd8\xff\xda\x00\x08" + bytes(10), "before any start-of-frame"),
        (b"\xff\xd8\x00\x00\x00\x00", "expected a marker"),
        (b"\xff\xd8\xff\xc0\x00\x11\x08\x00", "cut off"),
        (b"\xff\xd8\xff\xc0\x00\x11\x08\x00\x00\x00\x10\x03", "size is 16x0"),
        (b"\xff\xd8\xff\xe0\x00\x01", "segment length"),
    ],
    ids=["empty", "png", "truncated", "sos-first", "no-marker", "short-sof", "zero-height", "bad-length"],
)
def test_dimensions_say_what_is_wrong(data: bytes, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        jpeg_dimensions(data)


def test_decode_refuses_a_broken_jpeg() -> None:
    data = encode_jpeg(quadrants(64, 64))
    with pytest.raises(ValueError, match="JPEG"):
        decode_jpeg(data[: len(data) // 8])
    with pytest.raises(ValueError, match="SOI"):
        decode_jpeg(b"GIF89a" + bytes(20))


async def test_grab_frame_from_a_live_stream(cameras: Cameras) -> None:
    frame = await asyncio.to_thread(
        grab_frame, cameras.url(H264), username=USERNAME, password=PASSWORD, timeout=10
    )
    spec = cameras.spec(H264)
    assert (frame.width, frame.height) == (spec.width, spec.height)
    assert jpeg_dimensions(encode_jpeg(frame)) == (spec.width, spec.height)


async def test_capture_snapshot_makes_image_and_thumbnail(cameras: Cameras) -> None:
    snapshot = await capture_snapshot(cameras.url(MPEG4), username=USERNAME, password=PASSWORD, timeout=10)
    spec = cameras.spec(MPEG4)
    assert (snapshot.width, snapshot.height) == (spec.width, spec.height)
    assert jpeg_dimensions(snapshot.jpeg) == (spec.width, spec.height)
    assert jpeg_dimensions(snapshot.thumbnail) == (320, 240)  # 320 wide already: not enlarged


async def test_capture_snapshot_raises_the_stream_error(cameras: Cameras) -> None:
    with pytest.raises(StreamError) as failure:
        await capture_snapshot(cameras.url(OFFLINE), username=USERNAME, password=PASSWORD, timeout=5)
    assert failure.value.kind == "unreachable"
    with pytest.raises(StreamError) as failure:
        await capture_snapshot(cameras.url(H264), username=USERNAME, password="wrong-password", timeout=5)
    assert failure.value.kind == "auth" and "wrong-password" not in str(failure.value)


async def test_snapshot_from_a_vendor_jpeg_keeps_it_and_adds_a_thumbnail() -> None:
    vendor = encode_jpeg(quadrants(1920, 1080))
    snapshot = await snapshot_from_jpeg(vendor)
    assert snapshot.jpeg == vendor
    assert (snapshot.width, snapshot.height) == (1920, 1080)
    assert jpeg_dimensions(snapshot.thumbnail) == (320, 180)
    with pytest.raises(ValueError, match="SOI"):
        await snapshot_from_jpeg(b"<html>login required</html>")


async def test_snapshot_from_a_frame_decoded_elsewhere() -> None:
    snapshot = await snapshot_from_frame(quadrants(1280, 720), quality=90)
    assert (snapshot.width, snapshot.height) == (1280, 720)
    assert jpeg_dimensions(snapshot.jpeg) == (1280, 720)
    assert jpeg_dimensions(snapshot.thumbnail) == (320, 180)

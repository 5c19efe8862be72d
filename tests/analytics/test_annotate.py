"""annotate + to_jpeg: a downscaled copy with tracks, lines and zones drawn, encoded as a real JPEG."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vtrack.analytics.annotate import annotate, to_jpeg
from vtrack.analytics.counting.specs import LineSpec, ZoneSpec
from vtrack.analytics.types import Image, Track

LINE = LineSpec("door", (100, 360), (1180, 360)).resolve(1280, 720)
ZONE = ZoneSpec("queue", ((800, 100), (1200, 100), (1200, 300), (800, 300))).resolve(1280, 720)
TOTALS = {
    "lines": {"door": {"in": 3, "out": 1}},
    "zones": {"queue": {"entries": 2, "exits": 1, "inside": 1}},
}


def frame() -> Image:
    return np.zeros((720, 1280, 3), np.uint8)


def decode(data: bytes) -> Image:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "not a decodable JPEG"
    return np.asarray(image, np.uint8)


def near(image: Image, x: int, y: int, colour: tuple[int, int, int], radius: int = 1) -> bool:
    """Some pixel within `radius` of (x, y) has exactly `colour`."""
    patch = image[y - radius : y + radius + 1, x - radius : x + radius + 1]
    return bool((patch == np.array(colour, np.uint8)).all(axis=2).any())


def test_downscaled_to_max_width_with_everything_drawn() -> None:
    tracks = [
        Track(1, (200.0, 400.0, 280.0, 600.0), 0.9, True, 5),
        Track(2, (600.0, 400.0, 680.0, 600.0), 0.4, False, 0),
    ]
    source = frame()
    out = annotate(source, tracks, [LINE], [ZONE], TOTALS, max_width=640)
    assert out.shape == (360, 640, 3) and out.dtype == np.uint8
    assert not source.any()  # the input frame is left alone
    assert near(out, 320, 180, (0, 200, 255))  # the line, halfway along, at half scale
    assert near(out, 600, 100, (255, 160, 0))  # the zone's right edge
    assert near(out, 100, 250, (80, 220, 80))  # the confirmed track's left edge
    assert near(out, 300, 250, (160, 160, 160))  # the tentative track, in grey
    assert not out[310:360, 400:500].any()  # nothing drawn where nothing is
    image = decode(to_jpeg(out, quality=90))
    assert image.shape == out.shape
    assert np.abs(image.astype(int) - out).mean() < 3  # the JPEG shows the same picture


def test_small_frames_keep_their_size() -> None:
    small = np.full((240, 320, 3), 30, np.uint8)
    out = annotate(small, [], [], [], None, max_width=960)
    assert out.shape == small.shape
    assert out is not small
    assert decode(to_jpeg(out)).shape == (240, 320, 3)


@pytest.mark.parametrize(
    ("width", "height", "max_width", "expected"),
    [(1920, 1080, 960, (540, 960)), (1000, 501, 500, (250, 500))],
)
def test_scaled_size(width: int, height: int, max_width: int, expected: tuple[int, int]) -> None:
    out = annotate(np.zeros((height, width, 3), np.uint8), [], [LINE], [], None, max_width=max_width)
    assert out.shape[:2] == expected


def test_jpeg_is_a_jpeg() -> None:
    data = to_jpeg(frame())
    assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"
    assert len(to_jpeg(frame(), quality=95)) >= len(to_jpeg(frame(), quality=10))

"""The test pattern shows its clock and moves, so stale video is visible at a glance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import av
import numpy as np
import pytest

from vtrack.simulator.media.pattern import render_yuv420, text_mask


def test_frames_are_i420_and_change_with_time_and_frame() -> None:
    when = datetime(2026, 11, 21, 8, 30, 15, tzinfo=UTC)
    first = render_yuv420(640, 360, when, 0)
    assert first.shape == (540, 640) and first.dtype == np.uint8
    later_clock = render_yuv420(640, 360, when + timedelta(seconds=1), 0)
    later_frame = render_yuv420(640, 360, when, 10)
    assert not np.array_equal(first, later_clock)
    assert not np.array_equal(first, later_frame)
    # PyAV (FFmpeg) takes it as a real frame.
    frame = av.VideoFrame.from_ndarray(first, format="yuv420p")
    assert (frame.width, frame.height) == (640, 360)


def test_clock_digits_are_burned_in_where_expected() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    image = render_yuv420(1280, 720, when, 7)
    scale = 720 // 120
    expected = text_mask("2026-01-02 03:04:05.0", scale)
    h, w = expected.shape
    region = image[scale * 2 : scale * 2 + h, scale * 2 : scale * 2 + w]
    assert np.array_equal(region == 235, expected)


def test_odd_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="even"):
        render_yuv420(641, 360, datetime.now(UTC), 0)

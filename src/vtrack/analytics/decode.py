"""FFmpeg frames to the BGR arrays every analysis stage takes, and to the times events are dated with."""

from __future__ import annotations

from typing import cast

import av

from vtrack.analytics.types import Image


def to_bgr(frame: av.VideoFrame) -> Image:
    """swscale converts from the decoder's YUV; bgr24 is always uint8 (PyAV types the union of formats)."""
    return cast(Image, frame.to_ndarray(format="bgr24"))


class FrameClock:
    """Seconds into the video of each decoded frame, always increasing.

    A file's frame `pts` cannot be taken as it comes: AVI and other index-based containers carry decode
    timestamps only, so with B-frames the decoder hands frames out in display order labelled with
    shuffled times, and raw H.264/H.265 streams carry no times at all. Like FFmpeg's
    best_effort_timestamp, this trusts pts until it goes backwards more often than dts does; a frame
    with no usable time is placed one frame interval after the previous one.
    """

    def __init__(self, fps: float) -> None:
        self.step = 1.0 / fps if fps > 0 else 0.04
        self._last_pts: int | None = None
        self._last_dts: int | None = None
        self._faulty_pts = 0
        self._faulty_dts = 0
        self._last: float | None = None

    def offset(self, frame: av.VideoFrame) -> float:
        pts, dts, base = frame.pts, frame.dts, frame.time_base
        if pts is not None:
            self._faulty_pts += self._last_pts is not None and pts <= self._last_pts
            self._last_pts = pts
        if dts is not None:
            self._faulty_dts += self._last_dts is not None and dts <= self._last_dts
            self._last_dts = dts
        stamp = pts if pts is not None and (dts is None or self._faulty_pts <= self._faulty_dts) else dts
        seconds = None if stamp is None or base is None else float(stamp * base)
        if seconds is None or (self._last is not None and seconds <= self._last):
            seconds = 0.0 if self._last is None else self._last + self.step
        self._last = seconds
        return seconds

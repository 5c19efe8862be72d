"""Motion "detector": moving blobs from background subtraction, for cameras without a model or CPU.

It finds anything that moves, not only people, so it is a fallback; in exchange it needs no model and
costs a few milliseconds a frame. Work happens on a small grey copy of the frame (resizing with area
averaging also smooths sensor noise), and MOG2 adapts to slow lighting changes. Background subtraction
learns from the stream it watches, so one instance serves exactly one channel.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from vtrack.analytics.detectors.base import DetectorConfig, check_image
from vtrack.analytics.detectors.nms import nms
from vtrack.analytics.types import Detections, Image


class MotionDetector:
    """Boxes around foreground blobs; every box scores 1.0.

    Motion has no confidence to report, and ByteTrack's thresholds are tuned for detector scores: a
    constant 1.0 makes each kept blob a "high" detection, while `min_fill` (the share of the box that is
    foreground) discards the loose boxes that noise and shadows produce.
    """

    name: str = "motion"
    stateful: bool = True

    def __init__(
        self,
        config: DetectorConfig | None = None,
        *,
        min_area: float = 0.0005,
        min_fill: float = 0.15,
        work_width: int = 320,
        history: int = 200,
        var_threshold: float = 16.0,
        warmup_frames: int = 10,
    ) -> None:
        """`min_area`: smallest blob, a fraction of the frame area when < 1, else original pixels."""
        if min_area < 0 or not 0 <= min_fill <= 1 or work_width < 16 or history < 1 or warmup_frames < 0:
            raise ValueError("motion settings out of range")
        self.config = config or DetectorConfig()
        self.min_area = min_area
        self.min_fill = min_fill
        self.work_width = work_width
        self.history = history
        self.var_threshold = var_threshold
        self.warmup_frames = warmup_frames
        self._open = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        self._close = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))
        self._frame_hw: tuple[int, int] | None = None
        self._seen = 0
        self._subtractor = self._new_subtractor()

    def _new_subtractor(self) -> cv2.BackgroundSubtractorMOG2:
        return cv2.createBackgroundSubtractorMOG2(
            history=self.history, varThreshold=self.var_threshold, detectShadows=False
        )

    def detect(self, images: Sequence[Image]) -> list[Detections]:
        """Frames of this detector's one stream, in order."""
        return [self._detect_one(image) for image in images]

    def _detect_one(self, image: Image) -> Detections:
        check_image(image)
        height, width = int(image.shape[0]), int(image.shape[1])
        if self._frame_hw != (height, width):
            # A new resolution (camera reconfigured) invalidates the learnt background.
            self._frame_hw = (height, width)
            self._subtractor = self._new_subtractor()
            self._seen = 0
        work_w = min(self.work_width, width)
        work_h = max(1, round(height * work_w / width))
        small = cv2.resize(image, (work_w, work_h), interpolation=cv2.INTER_AREA)
        grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        mask = self._subtractor.apply(grey)
        self._seen += 1
        if self._seen <= self.warmup_frames:
            return Detections.empty()  # the model still calls most of the frame foreground
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self._open)
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, self._close)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        if not contours:
            return Detections.empty()
        rects = np.array([cv2.boundingRect(c) for c in contours], np.float32)  # x, y, w, h
        fills = np.array(
            [cv2.countNonZero(mask[y : y + h, x : x + w]) for x, y, w, h in rects.astype(int)], np.float32
        ) / (rects[:, 2] * rects[:, 3])
        sx, sy = width / work_w, height / work_h
        xyxy = np.stack(
            [
                rects[:, 0] * sx,
                rects[:, 1] * sy,
                (rects[:, 0] + rects[:, 2]) * sx,
                (rects[:, 1] + rects[:, 3]) * sy,
            ],
            axis=1,
        )
        np.clip(xyxy[:, 0::2], 0, width, out=xyxy[:, 0::2])
        np.clip(xyxy[:, 1::2], 0, height, out=xyxy[:, 1::2])
        min_px = self.min_area * height * width if self.min_area < 1 else self.min_area
        areas = (xyxy[:, 2] - xyxy[:, 0]) * (xyxy[:, 3] - xyxy[:, 1])
        kept = (areas >= min_px) & (fills >= self.min_fill)
        xyxy = xyxy[kept]
        scores = np.ones(len(xyxy), np.float32)
        order = nms(xyxy, -areas[kept], self.config.nms_iou)  # of overlapping blobs keep the largest
        return Detections.from_arrays(xyxy[order], scores[order])

    def close(self) -> None:
        self._subtractor = self._new_subtractor()
        self._frame_hw = None

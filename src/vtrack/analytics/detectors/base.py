"""What every detector promises the pipeline, so channels can swap YOLOX, Ultralytics YOLO or motion.

Detectors see whole frames and answer in original-frame pixels: letterboxing, model strides and
downscaling stay inside the detector, and nothing downstream needs to know which model ran.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from vtrack.analytics.errors import AnalyticsConfigError
from vtrack.analytics.types import Detections, Image

# Every detection model in use downsamples by 32 at its coarsest level; other sizes leave partial cells.
STRIDE = 32


@dataclass(frozen=True)
class DetectorConfig:
    confidence: float = 0.3
    nms_iou: float = 0.45
    input_size: tuple[int, int] = (416, 416)  # (height, width); used only when the model's dims are dynamic
    threads: int = 1  # ONNX Runtime intra-op threads per session

    def __post_init__(self) -> None:
        if not 0.0 < self.confidence <= 1.0:
            raise AnalyticsConfigError("confidence", f"must be in (0, 1], got {self.confidence!r}")
        if not 0.0 < self.nms_iou <= 1.0:
            raise AnalyticsConfigError("nms_iou", f"must be in (0, 1], got {self.nms_iou!r}")
        size = self.input_size
        if len(size) != 2 or any(not isinstance(v, int) or v <= 0 or v % STRIDE for v in size):
            raise AnalyticsConfigError(
                "input_size", f"must be (height, width), positive multiples of {STRIDE}, got {size!r}"
            )
        if not isinstance(self.threads, int) or self.threads < 1:
            raise AnalyticsConfigError("threads", f"must be an integer >= 1, got {self.threads!r}")


class Detector(Protocol):
    """Finds people in frames.

    `stateful` detectors (motion) learn from the frames they see, so each channel needs its own
    instance; stateless ones may be shared by channels as long as one thread calls them at a time
    (they reuse preallocated buffers between calls).
    """

    name: str
    stateful: bool

    def detect(self, images: Sequence[Image]) -> list[Detections]:
        """One result per image, person boxes only, clipped to that image."""
        ...

    def close(self) -> None: ...


def check_image(image: Image) -> None:
    """Reject what would otherwise fail deep inside OpenCV or ONNX Runtime with a cryptic message."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3 or 0 in image.shape:
        raise ValueError(f"expected an HxWx3 uint8 BGR image, got {image.dtype} {image.shape}")

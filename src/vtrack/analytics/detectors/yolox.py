"""YOLOX (Megvii) ONNX detector, as exported by the official tools/export_onnx.py.

The official export leaves the box decode out of the graph (`decode_in_inference=False`): each of the
(H/8·W/8 + H/16·W/16 + H/32·W/32) rows holds grid-relative (x, y), log-scale (w, h), then sigmoided
objectness and class scores. Decoding only the rows whose person score passes the threshold keeps
postprocessing at a few hundred microseconds even for thousands of anchors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vtrack.analytics.detectors.base import STRIDE, DetectorConfig
from vtrack.analytics.detectors.letterbox import Letterbox
from vtrack.analytics.detectors.onnx_runner import (
    OnnxDetector,
    OnnxRunner,
    fixed,
    output_shape,
    to_detections,
)
from vtrack.analytics.errors import ModelError
from vtrack.analytics.types import PERSON_CLASS, Detections, FloatArray

STRIDES = (8, 16, 32)


def yolox_grid(height: int, width: int) -> FloatArray:
    """Per anchor row: (grid x, grid y, stride), in the order YOLOX flattens its three heads."""
    parts = []
    for stride in STRIDES:
        gh, gw = height // stride, width // stride
        ys, xs = np.meshgrid(np.arange(gh), np.arange(gw), indexing="ij")
        parts.append(np.stack([xs.ravel(), ys.ravel(), np.full(gh * gw, stride)], axis=1))
    return np.concatenate(parts).astype(np.float32)


class YoloxDetector(OnnxDetector):
    name: str = "yolox"

    def __init__(self, model_path: Path, config: DetectorConfig | None = None) -> None:
        self.config = config or DetectorConfig()
        self.runner = OnnxRunner(model_path, self.config, centred=False, rgb_unit=False)
        spec = self.runner.spec
        if spec.height % STRIDE or spec.width % STRIDE:
            raise ModelError(f"{model_path}: input {spec.height}x{spec.width} is not a multiple of {STRIDE}")
        self.grid = yolox_grid(spec.height, spec.width)
        shape = output_shape(self.runner.session, model_path)
        anchors, channels = fixed(shape[1]), fixed(shape[2])
        if (anchors is not None and anchors != len(self.grid)) or (channels is not None and channels < 6):
            raise ModelError(
                f"{model_path}: output shape {shape} is not YOLOX's [batch, {len(self.grid)}, 5 + classes] "
                f"for a {spec.height}x{spec.width} input"
            )

    def decode(self, rows: FloatArray, box: Letterbox) -> Detections:
        """One image's raw output rows -> persons in original-frame pixels."""
        if rows.shape[0] != len(self.grid) or rows.shape[1] < 6:
            raise ModelError(
                f"{self.runner.path}: output rows have shape {rows.shape}, "
                f"expected [{len(self.grid)}, 5 + classes]"
            )
        person = 5 + PERSON_CLASS
        scores = rows[:, 4] * rows[:, person]
        picked = np.flatnonzero(scores > self.config.confidence)
        if rows.shape[1] > 6 and len(picked):
            # As the reference postprocess labels each box with its best class, keep only true persons.
            picked = picked[rows[picked, 5:].argmax(axis=1) == PERSON_CLASS]
        cand, grid = rows[picked], self.grid[picked]
        stride = grid[:, 2:3]
        centre = (cand[:, 0:2] + grid[:, 0:2]) * stride
        half = np.exp(cand[:, 2:4]) * stride / 2
        xyxy = np.concatenate([centre - half, centre + half], axis=1)
        return to_detections(xyxy, scores[picked], box, self.config.nms_iou)

"""Ultralytics YOLO (v8/v11) ONNX detector, as `yolo export format=onnx` writes it.

The export decodes boxes in the graph: output [batch, 4 + classes, anchors], rows cx, cy, w, h in input
pixels then per-class scores, no objectness. Input is RGB scaled to 0..1 with a centred letterbox.
Other layouts (YOLOv5's [batch, anchors, 5 + classes], NMS-free end-to-end exports [batch, 300, 6])
would decode to garbage, so the shape is checked up front and refused with a clear error.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vtrack.analytics.detectors.base import DetectorConfig
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


class UltralyticsDetector(OnnxDetector):
    name: str = "yolo"

    def __init__(self, model_path: Path, config: DetectorConfig | None = None) -> None:
        self.config = config or DetectorConfig()
        self.runner = OnnxRunner(model_path, self.config, centred=True, rgb_unit=True)
        shape = output_shape(self.runner.session, model_path)
        channels, anchors = fixed(shape[1]), fixed(shape[2])
        if channels is not None and (channels < 5 or (anchors is not None and channels > anchors)):
            raise ModelError(
                f"{model_path}: output shape {shape} is not Ultralytics' [batch, 4 + classes, anchors] "
                "(YOLOv5-style or end-to-end exports are not supported)"
            )

    def decode(self, rows: FloatArray, box: Letterbox) -> Detections:
        """One image's raw output [4 + classes, anchors] -> persons in original-frame pixels."""
        if rows.shape[0] < 5:
            raise ModelError(
                f"{self.runner.path}: output has shape {rows.shape}, expected [4 + classes, anchors]"
            )
        person = 4 + PERSON_CLASS
        picked = np.flatnonzero(rows[person] > self.config.confidence)
        if rows.shape[0] > 5 and len(picked):
            # Ultralytics labels a box with its best class; a box that is more "dog" than person is a dog.
            picked = picked[rows[4:, picked].argmax(axis=0) == PERSON_CLASS]
        cand = rows[:, picked]
        half_w, half_h = cand[2] / 2, cand[3] / 2
        xyxy = np.stack([cand[0] - half_w, cand[1] - half_h, cand[0] + half_w, cand[1] + half_h], axis=1)
        return to_detections(xyxy, rows[person, picked], box, self.config.nms_iou)

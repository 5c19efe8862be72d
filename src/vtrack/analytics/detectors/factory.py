"""Build the detector a channel's settings name, turning every mistake into an error naming the setting."""

from __future__ import annotations

import logging
from pathlib import Path

from vtrack.analytics.detectors.base import Detector, DetectorConfig
from vtrack.analytics.detectors.motion import MotionDetector
from vtrack.analytics.detectors.yolo import UltralyticsDetector
from vtrack.analytics.detectors.yolox import YoloxDetector
from vtrack.analytics.errors import AnalyticsConfigError

log = logging.getLogger(__name__)

KINDS = ("yolox", "yolo", "motion")


def build_detector(kind: str, model: Path | None, config: DetectorConfig | None = None) -> Detector:
    """Raises AnalyticsConfigError("detector"/"model", ...) for settings, ModelError for a bad model file."""
    config = config or DetectorConfig()
    name = kind.strip().lower()
    if name not in KINDS:
        raise AnalyticsConfigError("detector", f"unknown detector {kind!r}; choose one of {', '.join(KINDS)}")
    if name == "motion":
        if model is not None:
            log.info("the motion detector uses no model; ignoring %s", model)
        return MotionDetector(config)
    if model is None:
        raise AnalyticsConfigError("model", f"the {name} detector needs an ONNX model file")
    if not model.is_file():
        what = "is a directory" if model.is_dir() else "does not exist"
        raise AnalyticsConfigError("model", f"{model} {what}; the {name} detector needs an ONNX model file")
    if name == "yolox":
        return YoloxDetector(model, config)
    return UltralyticsDetector(model, config)

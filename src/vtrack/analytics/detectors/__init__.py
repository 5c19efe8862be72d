"""Person detectors: YOLOX and Ultralytics YOLO on ONNX Runtime, and a model-free motion fallback."""

from vtrack.analytics.detectors.base import Detector, DetectorConfig
from vtrack.analytics.detectors.factory import KINDS, build_detector
from vtrack.analytics.detectors.letterbox import Letterbox, Letterboxer, letterbox
from vtrack.analytics.detectors.motion import MotionDetector
from vtrack.analytics.detectors.nms import nms
from vtrack.analytics.detectors.yolo import UltralyticsDetector
from vtrack.analytics.detectors.yolox import YoloxDetector

__all__ = [
    "KINDS",
    "Detector",
    "DetectorConfig",
    "Letterbox",
    "Letterboxer",
    "MotionDetector",
    "UltralyticsDetector",
    "YoloxDetector",
    "build_detector",
    "letterbox",
    "nms",
]

"""build_detector: the right detector for each kind, and errors that name the setting to fix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.analytics.detectors.onnx_builders import build_model
from tests.shared_data import YOLOX_NANO
from vtrack.analytics.detectors.base import DetectorConfig
from vtrack.analytics.detectors.factory import build_detector
from vtrack.analytics.detectors.motion import MotionDetector
from vtrack.analytics.detectors.yolo import UltralyticsDetector
from vtrack.analytics.detectors.yolox import YoloxDetector
from vtrack.analytics.errors import AnalyticsConfigError, ModelError


def test_unknown_kind_names_the_detector_field() -> None:
    with pytest.raises(AnalyticsConfigError) as caught:
        build_detector("ssd", None)
    assert caught.value.field == "detector"
    assert "'ssd'" in str(caught.value) and "yolox, yolo, motion" in str(caught.value)


@pytest.mark.parametrize("kind", ["yolox", "yolo"])
def test_model_kinds_need_an_existing_file(kind: str, tmp_path: Path) -> None:
    for model, words in [
        (None, "needs an ONNX model"),
        (tmp_path / "nope.onnx", "does not exist"),
        (tmp_path, "is a directory"),
    ]:
        with pytest.raises(AnalyticsConfigError, match=words) as caught:
            build_detector(kind, model)
        assert caught.value.field == "model"


def test_unloadable_model_is_a_model_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(ModelError, match="junk.onnx"):
        build_detector("yolox", junk)


def test_motion_needs_no_model_and_ignores_one() -> None:
    config = DetectorConfig(nms_iou=0.2)
    detector = build_detector("motion", None, config)
    assert isinstance(detector, MotionDetector) and detector.config is config and detector.stateful
    assert isinstance(build_detector(" Motion ", Path("/nonexistent.onnx")), MotionDetector)


def test_ultralytics_kind_builds_from_a_model(tmp_path: Path) -> None:
    model = build_model(tmp_path / "y.onnx", np.zeros((1, 5, 50), np.float32), input_shape=(1, 3, 64, 64))
    detector = build_detector("YOLO", model, DetectorConfig(confidence=0.5))
    assert isinstance(detector, UltralyticsDetector) and detector.name == "yolo" and not detector.stateful
    assert detector.config.confidence == 0.5


@pytest.mark.skipif(not YOLOX_NANO.exists(), reason="shared YOLOX model not on this machine")
def test_yolox_kind_builds_from_the_shared_model() -> None:
    detector = build_detector("yolox", YOLOX_NANO)
    assert isinstance(detector, YoloxDetector) and detector.name == "yolox" and not detector.stateful
    assert len(detector.detect([np.zeros((240, 320, 3), np.uint8)])[0]) == 0
    detector.close()

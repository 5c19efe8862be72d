"""Ultralytics-format YOLO on models the test builds: decode, centred letterbox, classes, shape errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto

from tests.analytics.detectors.onnx_builders import build_model
from vtrack.analytics.detectors.base import DetectorConfig
from vtrack.analytics.detectors.yolo import UltralyticsDetector
from vtrack.analytics.errors import ModelError

CLASSES = 3
ANCHORS = 20
FRAME = np.zeros((720, 1280, 3), np.uint8)  # into 320x320: scale 0.25, 320x180 content at top=70


def rows(*anchors: tuple[float, float, float, float, float, float, float]) -> np.ndarray:
    """[1, 4 + classes, anchors]: columns cx, cy, w, h (input pixels), person, class 1, class 2."""
    out = np.zeros((1, 4 + CLASSES, ANCHORS), np.float32)
    out[0, 0:4] = 10.0  # background anchors: small boxes with zero scores
    for i, values in enumerate(anchors):
        out[0, :, i] = values
    return out


def detector(
    path: Path, base: np.ndarray, gain: np.ndarray | None = None, batch: int | str = 1, **config: float
) -> UltralyticsDetector:
    model = build_model(path, base, gain, input_shape=(batch, 3, 320, 320))
    return UltralyticsDetector(model, DetectorConfig(**config))  # type: ignore[arg-type]


def test_boxes_map_through_the_centred_letterbox(tmp_path: Path) -> None:
    det = detector(
        tmp_path / "m.onnx", rows((160, 160, 80, 40, 0.9, 0.0, 0.0), (40, 100, 20, 60, 0.6, 0.1, 0.2))
    )
    dets = det.detect([FRAME])[0]
    assert dets.scores.tolist() == pytest.approx([0.9, 0.6])
    # (120, 140, 200, 180) in the input: x / 0.25, (y - 70) / 0.25; the second starts in the top padding
    np.testing.assert_allclose(dets.xyxy, [[480, 280, 800, 440], [120, 0, 200, 240]], atol=1e-3)
    assert (dets.class_ids == 0).all()


def test_only_confident_boxes_whose_best_class_is_person(tmp_path: Path) -> None:
    base = rows(
        (100, 100, 20, 40, 0.8, 0.1, 0.1),  # person
        (200, 100, 20, 40, 0.5, 0.9, 0.0),  # labelled class 1 although person passes the threshold
        (100, 200, 20, 40, 0.25, 0.0, 0.0),  # person below confidence 0.3
        (200, 200, 20, 40, 0.0, 0.0, 0.99),  # class 2 only
    )
    dets = detector(tmp_path / "m.onnx", base).detect([FRAME])[0]
    assert dets.scores.tolist() == pytest.approx([0.8])
    assert detector(tmp_path / "n.onnx", base, confidence=0.2).detect([FRAME])[
        0
    ].scores.tolist() == pytest.approx([0.8, 0.25])


def test_overlapping_persons_are_suppressed_and_padding_boxes_dropped(tmp_path: Path) -> None:
    base = rows(
        (160, 160, 80, 160, 0.9, 0, 0),
        (165, 160, 80, 160, 0.7, 0, 0),  # IoU ~0.88 with the first
        (160, 20, 60, 20, 0.8, 0, 0),  # y 10..30: entirely in the top padding (content starts at 70)
    )
    dets = detector(tmp_path / "m.onnx", base).detect([FRAME])[0]
    assert dets.scores.tolist() == pytest.approx([0.9])
    assert detector(tmp_path / "n.onnx", base, nms_iou=0.95).detect([FRAME])[
        0
    ].scores.tolist() == pytest.approx([0.9, 0.7])


def test_input_is_rgb_scaled_to_unit_range_with_grey_padding(tmp_path: Path) -> None:
    base = rows((160, 160, 80, 40, 0.0, 0.0, 0.0))
    gain = np.zeros_like(base)
    gain[0, 4, 0] = 1.0  # person score = mean of input channel 0, which must be R in 0..1
    det = detector(tmp_path / "m.onnx", base, gain, batch="batch")
    red = FRAME.copy()
    red[:, :, 2] = 255
    blue = FRAME.copy()
    blue[:, :, 0] = 255
    for_red, for_blue = det.detect([red, blue])
    # 180 content rows of 1.0 and 140 padding rows of 114/255
    assert for_red.scores.tolist() == pytest.approx([(180 + 140 * 114 / 255) / 320], abs=1e-4)
    assert len(for_blue) == 0  # 140 * 0.447 / 320 = 0.196 < 0.3


def test_empty_input_and_several_frame_sizes(tmp_path: Path) -> None:
    det = detector(tmp_path / "m.onnx", rows((160, 160, 80, 80, 0.9, 0, 0)), batch="batch")
    assert det.detect([]) == []
    square, tall = det.detect([np.zeros((320, 320, 3), np.uint8), np.zeros((640, 320, 3), np.uint8)])
    np.testing.assert_allclose(square.xyxy, [[120, 120, 200, 200]], atol=1e-3)
    np.testing.assert_allclose(tall.xyxy, [[80, 240, 240, 400]], atol=1e-3)  # scale 0.5, left pad 80


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"base": np.zeros((1, 100, 6), np.float32)}, "not Ultralytics"),  # [batch, anchors, C]: transposed
        ({"base": np.zeros((1, 4, 30), np.float32)}, "not Ultralytics"),  # no class rows
        ({"base": np.zeros((1, 7, 20), np.float32), "input_shape": (1, 1, 320, 320)}, r"\[batch, 3, height"),
        ({"base": np.zeros((1, 7, 20), np.float32), "input_shape": (2, 3, 320, 320)}, "fixed batch size 2"),
        ({"base": np.zeros((1, 7, 20), np.float32), "extra_input": True}, "one image input"),
        ({"base": np.zeros((1, 7, 20), np.float32), "input_type": TensorProto.FLOAT16}, "float16"),
    ],
)
def test_unexpected_model_shapes_are_refused(tmp_path: Path, kwargs: dict[str, object], message: str) -> None:
    model = build_model(tmp_path / "odd.onnx", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ModelError, match=message) as caught:
        UltralyticsDetector(model)
    assert str(model) in str(caught.value)


def test_rank_two_output_is_refused(tmp_path: Path) -> None:
    model = build_model(tmp_path / "flat.onnx", np.zeros((1, 7, 20), np.float32), flatten=True)
    with pytest.raises(ModelError, match="flat.onnx"):
        UltralyticsDetector(model)


def test_a_file_that_is_not_onnx_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="junk.onnx: cannot load"):
        UltralyticsDetector(junk)

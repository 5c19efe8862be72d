"""The shared ONNX plumbing: blobs hold exactly the letterboxed pixels each model family expects."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.analytics.detectors.onnx_builders import build_model
from vtrack.analytics.detectors.base import DetectorConfig
from vtrack.analytics.detectors.letterbox import letterbox
from vtrack.analytics.detectors.onnx_runner import OnnxRunner, fixed, open_session, to_detections
from vtrack.analytics.errors import AnalyticsError, ModelError


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return build_model(tmp_path / "m.onnx", np.zeros((1, 5, 10), np.float32), input_shape=("n", 3, "h", "w"))


def frames() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [
        rng.integers(0, 256, (90, 160, 3), dtype=np.uint8),
        rng.integers(0, 256, (100, 50, 3), dtype=np.uint8),
    ]


def test_bgr_blob_is_the_letterboxed_canvas_as_planes(model: Path) -> None:
    runner = OnnxRunner(model, DetectorConfig(input_size=(64, 96)), centred=False, rgb_unit=False)
    images = frames()
    blob, boxes = runner.prepare(images)
    assert blob.shape == (2, 3, 64, 96) and blob.dtype == np.float32 and blob.flags.c_contiguous
    for image, plane, box in zip(images, blob, boxes, strict=True):
        canvas, expected = letterbox(image, (64, 96), centred=False)
        assert box == expected
        np.testing.assert_array_equal(plane, canvas.transpose(2, 0, 1).astype(np.float32))
    assert runner.infer(blob).shape == (2, 5, 10)


def test_rgb_blob_is_flipped_and_scaled(model: Path) -> None:
    runner = OnnxRunner(model, DetectorConfig(input_size=(64, 96)), centred=True, rgb_unit=True)
    images = frames()
    blob, _ = runner.prepare(images)
    for image, plane in zip(images, blob, strict=True):
        canvas, _ = letterbox(image, (64, 96), centred=True)
        np.testing.assert_allclose(plane, canvas[:, :, ::-1].transpose(2, 0, 1) / 255.0, atol=1e-6)
    # A smaller batch reuses the same buffer.
    again, _ = runner.prepare(images[:1])
    assert again.shape == (1, 3, 64, 96) and np.shares_memory(again, blob)


def test_closed_runner_refuses_work(model: Path) -> None:
    runner = OnnxRunner(model, DetectorConfig(input_size=(64, 64)), centred=False, rgb_unit=False)
    blob, _ = runner.prepare(frames()[:1])
    runner.close()
    with pytest.raises(AnalyticsError, match="closed"):
        runner.infer(blob)


def test_missing_file_is_a_model_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="absent.onnx"):
        open_session(tmp_path / "absent.onnx", threads=1)


def test_fixed_dims() -> None:
    assert [fixed(d) for d in (3, "batch", None, 0, -1)] == [3, None, None, None, None]


def test_to_detections_suppresses_maps_and_drops_padding_boxes() -> None:
    _, box = letterbox(np.zeros((50, 100, 3), np.uint8), (64, 64), centred=False)  # scale 0.64, 32 rows
    xyxy = np.array([[0, 0, 32, 16], [1, 0, 33, 16], [0, 40, 10, 60]], np.float32)
    dets = to_detections(xyxy, np.array([0.5, 0.9, 0.8], np.float32), box, 0.45)
    assert dets.scores.tolist() == pytest.approx([0.9])
    np.testing.assert_allclose(dets.xyxy, [[1 / 0.64, 0, 33 / 0.64, 25]], rtol=1e-5)
    assert len(to_detections(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), box, 0.45)) == 0

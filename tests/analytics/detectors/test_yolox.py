"""YOLOX: the real YOLOX-Nano on real frames, and a crafted model checked against a reference decode."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from tests.analytics.detectors.onnx_builders import build_model
from tests.shared_data import PEOPLE_VIDEO, YOLOX_NANO
from vtrack.analytics.detectors.base import DetectorConfig
from vtrack.analytics.detectors.letterbox import Letterbox
from vtrack.analytics.detectors.nms import box_iou
from vtrack.analytics.detectors.yolox import YoloxDetector, yolox_grid
from vtrack.analytics.errors import AnalyticsError, ModelError
from vtrack.analytics.types import Detections

needs_shared = pytest.mark.skipif(
    not (PEOPLE_VIDEO.exists() and YOLOX_NANO.exists()), reason="shared video/model not on this machine"
)
FRAME_INDICES = (0, 24, 48)


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    if not PEOPLE_VIDEO.exists():
        pytest.skip(f"{PEOPLE_VIDEO} is not on this machine")
    picked = []
    with av.open(str(PEOPLE_VIDEO)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index in FRAME_INDICES:
                picked.append(frame.to_ndarray(format="bgr24"))
            if index >= max(FRAME_INDICES):
                break
    return picked


@pytest.fixture(scope="module")
def nano() -> YoloxDetector:
    if not YOLOX_NANO.exists():
        pytest.skip(f"{YOLOX_NANO} is not on this machine")
    return YoloxDetector(YOLOX_NANO, DetectorConfig())


def matched(a: Detections, b: Detections, min_iou: float) -> int:
    """How many boxes of `a` have a box in `b` overlapping at least `min_iou`."""
    if len(b) == 0:
        return 0
    return sum(int(box_iou(box, b.xyxy).max() >= min_iou) for box in a.xyxy)


@needs_shared
def test_finds_people_on_real_frames(nano: YoloxDetector, frames: list[np.ndarray]) -> None:
    results = nano.detect(frames)
    assert len(results) == len(frames)
    for dets in results:
        # The clip is a busy concourse with dozens of walkers; YOLOX-Nano at 416 finds well over ten.
        assert len(dets) >= 12
        assert dets.xyxy.dtype == np.float32 and dets.scores.dtype == np.float32
        assert (dets.class_ids == 0).all()
        assert (dets.scores > 0.3).all() and (dets.scores <= 1).all()
        x1, y1, x2, y2 = dets.xyxy.T
        assert (x1 >= 0).all() and (y1 >= 0).all() and (x2 <= 1280).all() and (y2 <= 720).all()
        w, h = x2 - x1, y2 - y1
        assert (w > 0).all() and (h > 0).all()
        assert np.median(h / w) > 1.4  # people standing: boxes taller than wide
        assert 40 < np.median(h) < 300  # the walkers are 60-200 px tall in this 720p shot
        overlaps = [box_iou(box, np.delete(dets.xyxy, i, 0)).max() for i, box in enumerate(dets.xyxy)]
        assert max(overlaps) <= 0.45  # NMS left no duplicates


@needs_shared
def test_blank_frames_have_no_people(nano: YoloxDetector) -> None:
    blanks = [np.full((720, 1280, 3), v, np.uint8) for v in (0, 114, 255)]
    assert [len(d) for d in nano.detect(blanks)] == [0, 0, 0]


@needs_shared
def test_batch_results_equal_single_results(nano: YoloxDetector, frames: list[np.ndarray]) -> None:
    together = nano.detect(frames[:2])
    for frame, dets in zip(frames[:2], together, strict=True):
        alone = nano.detect([frame])[0]
        np.testing.assert_array_equal(alone.xyxy, dets.xyxy)
        np.testing.assert_array_equal(alone.scores, dets.scores)
    assert nano.detect([]) == []


@needs_shared
def test_boxes_map_back_to_the_frame_at_any_resolution(nano: YoloxDetector, frames: list[np.ndarray]) -> None:
    full = nano.detect([frames[0]])[0]
    half_frame = np.ascontiguousarray(frames[0][::2, ::2])  # 640x360: the same picture, half the pixels
    half = nano.detect([half_frame])[0]
    assert (half.xyxy[:, 2] <= 640).all() and (half.xyxy[:, 3] <= 360).all()
    scaled = Detections.from_arrays(half.xyxy * 2, half.scores)
    assert matched(full, scaled, 0.6) >= 0.8 * len(full)


@needs_shared
def test_model_input_size_wins_and_two_threads_agree(frames: list[np.ndarray], nano: YoloxDetector) -> None:
    other = YoloxDetector(YOLOX_NANO, DetectorConfig(input_size=(640, 640), threads=2))
    assert (other.runner.spec.height, other.runner.spec.width) == (416, 416)
    a, b = nano.detect([frames[1]])[0], other.detect([frames[1]])[0]
    assert len(a) == len(b)
    np.testing.assert_allclose(a.xyxy, b.xyxy, atol=0.05)
    other.close()
    other.close()
    with pytest.raises(AnalyticsError, match="closed"):
        other.detect([frames[1]])


# --- crafted model: raw YOLOX rows chosen by the test, decoded by the detector and by a reference ----

INPUT_HW = (320, 480)
CLASSES = 4


def logit_free_rows(rng: np.random.Generator) -> np.ndarray:
    """Raw rows [A, 5 + classes] with a handful of candidates among low-score background."""
    anchors = len(yolox_grid(*INPUT_HW))
    rows = np.zeros((anchors, 5 + CLASSES), np.float32)
    rows[:, 4] = 0.01
    rows[:, 5:] = 0.01
    picks = rng.choice(anchors, 40, replace=False)
    rows[picks, 0:2] = rng.uniform(-0.5, 1.5, (40, 2))
    rows[picks, 2:4] = rng.uniform(0.0, 2.5, (40, 2))
    rows[picks, 4] = rng.uniform(0.2, 1.0, 40)
    rows[picks, 5:] = rng.uniform(0.0, 1.0, (40, CLASSES))
    return rows


def reference_decode(rows: np.ndarray, box: Letterbox, conf: float, iou: float) -> list[tuple[Any, ...]]:
    """Straight from the YOLOX demo's postprocess, one anchor at a time (person class only)."""
    candidates = []
    index = 0
    for stride in (8, 16, 32):
        for gy in range(INPUT_HW[0] // stride):
            for gx in range(INPUT_HW[1] // stride):
                x, y, lw, lh, obj, *cls = rows[index].tolist()
                index += 1
                best = int(np.argmax(cls))
                score = obj * cls[0]
                if best != 0 or not score > conf:
                    continue
                cx, cy = (x + gx) * stride, (y + gy) * stride
                w, h = math.exp(lw) * stride, math.exp(lh) * stride
                candidates.append((score, [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]))
    candidates.sort(key=lambda c: -c[0])
    kept: list[tuple[float, list[float]]] = []
    for score, xyxy in candidates:
        if all(iou_of(xyxy, other) <= iou for _, other in kept):
            kept.append((score, xyxy))
    out = []
    for score, (x1, y1, x2, y2) in kept:
        sx, sy = box.new_width / box.src_width, box.new_height / box.src_height
        x1, x2 = (min(max(v / sx, 0), box.src_width) for v in (x1, x2))
        y1, y2 = (min(max(v / sy, 0), box.src_height) for v in (y1, y2))
        if x2 > x1 and y2 > y1:
            out.append((score, x1, y1, x2, y2))
    return out


def iou_of(a: list[float], b: list[float]) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def test_decode_matches_reference_on_crafted_rows(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    rows = logit_free_rows(rng)
    model = build_model(tmp_path / "yolox.onnx", rows[None], input_shape=("batch", 3, "height", "width"))
    config = DetectorConfig(confidence=0.25, nms_iou=0.45, input_size=INPUT_HW)
    detector = YoloxDetector(model, config)
    assert (detector.runner.spec.height, detector.runner.spec.width) == INPUT_HW  # dynamic dims -> config
    frame = np.zeros((300, 600, 3), np.uint8)  # scale 0.8: 480x240 of content, 80 rows of padding
    dets = detector.detect([frame])[0]
    expected = reference_decode(rows, Letterbox.fit((300, 600), INPUT_HW, False), 0.25, 0.45)
    assert len(expected) >= 5  # enough survivors for the comparison to mean something
    assert len(dets) == len(expected)
    np.testing.assert_allclose(dets.scores, [e[0] for e in expected], rtol=1e-5)
    np.testing.assert_allclose(dets.xyxy, [e[1:] for e in expected], atol=1e-2)


def test_dynamic_batch_runs_once_and_keeps_images_apart(tmp_path: Path) -> None:
    anchors = len(yolox_grid(*INPUT_HW))
    base = np.zeros((1, anchors, 6), np.float32)
    gain = np.zeros_like(base)
    base[0, 0] = [0.5, 0.5, math.log(4), math.log(8), 0.0, 1.0]  # 32x64 box centred on (4, 4) at stride 8
    gain[0, 0, 4] = 1 / 255  # objectness = mean of the input's channel 0: BGR blue, unscaled 0..255
    model = build_model(
        tmp_path / "yolox.onnx", base, gain, channel=0, input_shape=("batch", 3, INPUT_HW[0], INPUT_HW[1])
    )
    detector = YoloxDetector(model, DetectorConfig(confidence=0.3))
    calls = []
    run = detector.runner.session.run

    def counting_run(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[1]["images"].shape)
        return run(*args, **kwargs)

    detector.runner.session.run = counting_run
    blue = np.zeros((320, 480, 3), np.uint8)
    blue[:, :, 0] = 255
    red = np.zeros((320, 480, 3), np.uint8)
    red[:, :, 2] = 255
    dets = detector.detect([red, blue, red])
    assert calls == [(3, 3, 320, 480)]
    assert [len(d) for d in dets] == [0, 1, 0]
    assert dets[1].scores[0] == pytest.approx(1.0)
    np.testing.assert_allclose(dets[1].xyxy[0], [0, 0, 4 + 16, 4 + 32], atol=1e-4)  # clipped top-left


def test_best_class_must_be_person(tmp_path: Path) -> None:
    anchors = len(yolox_grid(*INPUT_HW))
    rows = np.zeros((1, anchors, 7), np.float32)
    rows[0, 100] = [0.5, 0.5, 1, 1, 0.9, 0.8, 0.1]  # person
    rows[0, 200] = [0.5, 0.5, 1, 1, 0.9, 0.8, 0.95]  # more likely the other class
    rows[0, 300] = [0.5, 0.5, 1, 1, 0.9, 0.3, 0.0]  # person, but 0.27 < confidence
    detector = YoloxDetector(build_model(tmp_path / "m.onnx", rows, input_shape=(1, 3, *INPUT_HW)))
    dets = detector.detect([np.zeros((320, 480, 3), np.uint8)])[0]
    assert dets.scores.tolist() == pytest.approx([0.72])


def test_output_that_is_not_yolox_is_refused(tmp_path: Path) -> None:
    wrong_anchors = build_model(tmp_path / "a.onnx", np.zeros((1, 100, 85), np.float32))
    with pytest.raises(ModelError, match=r"a\.onnx.*\[batch, 3549, 5 \+ classes\]"):
        YoloxDetector(wrong_anchors)
    no_classes = build_model(tmp_path / "b.onnx", np.zeros((1, 3549, 5), np.float32))
    with pytest.raises(ModelError, match=r"b\.onnx"):
        YoloxDetector(no_classes)
    odd_input = build_model(
        tmp_path / "c.onnx", np.zeros((1, 10, 85), np.float32), input_shape=(1, 3, 100, 100)
    )
    with pytest.raises(ModelError, match="not a multiple of 32"):
        YoloxDetector(odd_input)

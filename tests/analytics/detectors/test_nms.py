"""Greedy NMS on hand-made cases, and agreement with OpenCV's implementation on random boxes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vtrack.analytics.detectors.nms import MATRIX_LIMIT, box_iou, iou_matrix, nms


def arr(rows: list[list[float]]) -> np.ndarray:
    return np.asarray(rows, np.float32).reshape(-1, 4)


def scores(values: list[float]) -> np.ndarray:
    return np.asarray(values, np.float32)


def test_empty_input_keeps_nothing() -> None:
    assert nms(arr([]), scores([]), 0.45).tolist() == []


def test_overlapping_lower_score_box_is_suppressed_far_box_kept() -> None:
    boxes = arr([[0, 2, 10, 12], [0, 0, 10, 10], [50, 50, 60, 60]])  # IoU(0, 1) = 80 / 120
    assert nms(boxes, scores([0.8, 0.9, 0.3]), 0.45).tolist() == [1, 2]


def test_threshold_is_exclusive() -> None:
    boxes = arr([[0, 0, 10, 10], [0, 0, 10, 5]])  # IoU exactly 0.5
    assert nms(boxes, scores([0.9, 0.8]), 0.5).tolist() == [0, 1]
    assert nms(boxes, scores([0.9, 0.8]), 0.49).tolist() == [0]


def test_suppressed_box_does_not_suppress_others() -> None:
    # A overlaps B, B overlaps C, A does not overlap C: greedy keeps A and C.
    boxes = arr([[0, 0, 10, 10], [5, 0, 15, 10], [10, 0, 20, 10]])
    assert nms(boxes, scores([0.9, 0.8, 0.7]), 0.3).tolist() == [0, 2]


def test_equal_scores_keep_the_first_and_max_det_caps() -> None:
    boxes = arr([[0, 0, 10, 10], [0, 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10]])
    assert nms(boxes, scores([0.5, 0.5, 0.5, 0.5]), 0.45).tolist() == [0, 2, 3]
    assert nms(boxes, scores([0.5, 0.5, 0.5, 0.5]), 0.45, max_det=2).tolist() == [0, 2]


def test_degenerate_boxes_have_zero_iou_not_nan() -> None:
    iou = box_iou(arr([[5, 5, 5, 5]])[0], arr([[5, 5, 5, 5], [0, 0, 10, 10]]))
    assert iou.tolist() == [0.0, 0.0]
    assert nms(arr([[5, 5, 5, 5], [5, 5, 5, 5]]), scores([0.9, 0.8]), 0.45).tolist() == [0, 1]


def test_iou_matrix_matches_hand_values() -> None:
    a = arr([[0, 0, 10, 10], [5, 5, 15, 15]])
    b = arr([[0, 0, 10, 10], [0, 0, 10, 5], [20, 20, 30, 30]])
    np.testing.assert_allclose(iou_matrix(a, b), [[1, 0.5, 0], [25 / 175, 0, 0]], rtol=1e-6)


@pytest.mark.parametrize("n", [60, MATRIX_LIMIT + 200])
def test_agrees_with_opencv_on_random_boxes(n: int) -> None:
    rng = np.random.default_rng(7)
    for trial in range(20 if n < MATRIX_LIMIT else 3):
        xy = rng.uniform(0, 300 if n < MATRIX_LIMIT else 1000, (n, 2))
        wh = rng.uniform(5, 80, (n, 2))
        boxes = np.concatenate([xy, xy + wh], axis=1).astype(np.float32)
        conf = (rng.permutation(n) / n + 0.01).astype(np.float32)  # distinct, so the order is unambiguous
        threshold = 0.2 + 0.03 * trial
        ours = nms(boxes, conf, threshold, max_det=n)
        rects = [(float(x), float(y), float(w), float(h)) for (x, y), (w, h) in zip(xy, wh, strict=True)]
        theirs = cv2.dnn.NMSBoxes(rects, conf.tolist(), 0.0, threshold)
        assert sorted(ours.tolist()) == sorted(np.asarray(theirs).reshape(-1).tolist())
        assert (np.diff(conf[ours]) < 0).all()

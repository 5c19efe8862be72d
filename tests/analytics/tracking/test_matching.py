"""IoU by hand, score fusion, and the thresholded assignment against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt
import pytest

from vtrack.analytics.tracking.matching import fuse_score, iou_distance, iou_matrix, linear_assignment


def test_iou_hand_cases() -> None:
    a = [[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [5, 5, 5, 15]]
    b = [[0, 0, 10, 10], [5, 0, 15, 10], [10, 0, 20, 10], [2, 2, 4, 4], [0, 0, 10, 10]]
    iou = iou_matrix(a, b)
    assert iou.shape == (5, 5)
    np.testing.assert_allclose(
        np.diag(iou),
        [1.0, 50 / 150, 0.0, 4 / 100, 0.0],  # same, half shifted, touching, inside, zero-area
    )
    np.testing.assert_allclose(iou_distance(a, b), 1.0 - iou)
    assert iou_matrix(np.zeros((0, 4)), b).shape == (0, 5)
    assert iou_matrix(a, np.zeros((0, 4))).shape == (5, 0)


def test_iou_is_symmetric_and_vectorised_like_a_loop() -> None:
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 100, (30, 2))
    a = np.hstack([xy, xy + rng.uniform(5, 40, (30, 2))])
    b = a[::-1] + rng.normal(0, 5, a.shape)
    fast = iou_matrix(a, b)
    for i, j in itertools.product(range(0, 30, 7), range(0, 30, 5)):
        w = max(0.0, min(a[i, 2], b[j, 2]) - max(a[i, 0], b[j, 0]))
        h = max(0.0, min(a[i, 3], b[j, 3]) - max(a[i, 1], b[j, 1]))
        area = (a[i, 2] - a[i, 0]) * (a[i, 3] - a[i, 1]) + (b[j, 2] - b[j, 0]) * (b[j, 3] - b[j, 1])
        assert fast[i, j] == pytest.approx(w * h / (area - w * h))
    np.testing.assert_allclose(iou_matrix(b, a), fast.T)


def test_fuse_score_weights_similarity_by_confidence() -> None:
    cost = np.array([[0.2, 0.6], [1.0, 0.0]])
    fused = fuse_score(cost, [0.5, 0.9])
    np.testing.assert_allclose(fused, [[1 - 0.8 * 0.5, 1 - 0.4 * 0.9], [1.0, 1 - 0.9]])
    assert fuse_score(np.zeros((0, 3)), [0.1, 0.2, 0.3]).shape == (0, 3)


def test_assignment_never_takes_a_pair_at_or_over_the_threshold() -> None:
    cost = np.array([[0.1, 0.9, 0.9], [0.9, 0.95, 0.3], [0.9, 0.9, 0.9], [0.9, 0.5, 0.9]])
    matches, rows, cols = linear_assignment(cost, 0.5)
    assert matches.tolist() == [[0, 0], [1, 2]]
    assert rows.tolist() == [2, 3]  # 0.5 is not strictly under the limit
    assert cols.tolist() == [1]


def test_assignment_of_empty_matrices() -> None:
    matches, rows, cols = linear_assignment(np.zeros((3, 0)), 0.8)
    assert matches.shape == (0, 2) and rows.tolist() == [0, 1, 2] and cols.tolist() == []
    matches, rows, cols = linear_assignment(np.zeros((0, 2)), 0.8)
    assert matches.shape == (0, 2) and rows.tolist() == [] and cols.tolist() == [0, 1]


def _best_objective(cost: npt.NDArray[np.float64], thresh: float) -> float:
    """lapjv(extend_cost=True, cost_limit=thresh) objective, minimised by trying every partial matching."""
    n, m = cost.shape
    best = 0.0
    for k in range(1, min(n, m) + 1):
        for rows in itertools.combinations(range(n), k):
            for cols in itertools.permutations(range(m), k):
                value = sum(cost[r, c] - thresh for r, c in zip(rows, cols, strict=True))
                best = min(best, value)
    return best


@pytest.mark.parametrize("shape", [(3, 3), (2, 4), (4, 3)])
def test_assignment_reaches_the_reference_optimum(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(shape))
    for _ in range(40):
        cost = rng.uniform(0.0, 1.0, shape)
        matches, rows, cols = linear_assignment(cost, 0.6)
        got = sum(cost[r, c] - 0.6 for r, c in matches)
        assert got == pytest.approx(_best_objective(cost, 0.6))
        assert all(cost[r, c] < 0.6 for r, c in matches)
        assert sorted([*matches[:, 0], *rows]) == list(range(shape[0]))
        assert sorted([*matches[:, 1], *cols]) == list(range(shape[1]))

"""Association costs and the thresholded assignment ByteTrack runs at each of its matching stages.

IoU is computed for all track/detection pairs at once with broadcasting (a 20 x 20 frame is a few tens of
microseconds). Boxes are continuous coordinates: no "+1 pixel" on widths, unlike the reference's cython_bbox,
which only matters for boxes a few pixels wide.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment  # type: ignore[import-untyped]  # scipy has no stubs

Array = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.int64]


def iou_matrix(boxes_a: npt.ArrayLike, boxes_b: npt.ArrayLike) -> Array:
    """Pairwise IoU of N and M (x1, y1, x2, y2) boxes -> N x M; empty or zero-area pairs give 0."""
    a = np.asarray(boxes_a, np.float64).reshape(-1, 4)
    b = np.asarray(boxes_b, np.float64).reshape(-1, 4)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float64)
    ix1 = np.maximum(a[:, None, 0], b[None, :, 0])
    iy1 = np.maximum(a[:, None, 1], b[None, :, 1])
    ix2 = np.minimum(a[:, None, 2], b[None, :, 2])
    iy2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.maximum(ix2 - ix1, 0.0) * np.maximum(iy2 - iy1, 0.0)
    area_a = np.maximum(a[:, 2] - a[:, 0], 0.0) * np.maximum(a[:, 3] - a[:, 1], 0.0)
    area_b = np.maximum(b[:, 2] - b[:, 0], 0.0) * np.maximum(b[:, 3] - b[:, 1], 0.0)
    union = area_a[:, None] + area_b[None, :] - inter
    out = np.zeros(inter.shape, np.float64)
    np.divide(inter, union, out=out, where=union > 0.0)
    return out


def iou_distance(boxes_a: npt.ArrayLike, boxes_b: npt.ArrayLike) -> Array:
    """1 - IoU: the cost every ByteTrack stage starts from."""
    return 1.0 - iou_matrix(boxes_a, boxes_b)


def fuse_score(cost: Array, scores: npt.ArrayLike) -> Array:
    """Weight the IoU similarity by detection confidence: cost = 1 - IoU * score.

    Why: between two equally overlapping boxes, the confident one is more likely the real person, and a
    weak box needs more overlap to keep a track alive in the first (high-score) stage.
    """
    if cost.size == 0:
        return cost
    s = np.asarray(scores, np.float64).reshape(1, -1)
    return 1.0 - (1.0 - cost) * s


def linear_assignment(cost: Array, thresh: float) -> tuple[IndexArray, IndexArray, IndexArray]:
    """Minimum-cost matching where pairs costing `thresh` or more are never matched.

    Returns (matches K x 2 as (row, col), unmatched rows, unmatched cols), all sorted. The reference calls
    lap.lapjv(cost, extend_cost=True, cost_limit=thresh), which minimises the sum of matched costs plus
    thresh/2 per unmatched row and column; that equals minimising sum(cost - thresh) over matched pairs, so
    clipping costs at `thresh` (a pair at the limit is worth the same as no pair) and running the Hungarian
    solver gives the same optimum. Filtering a plain assignment afterwards would not: the solver could
    spend a row on an over-threshold pair that it should have left unmatched.
    """
    n_rows, n_cols = cost.shape
    if n_rows == 0 or n_cols == 0:
        return (
            np.zeros((0, 2), np.int64),
            np.arange(n_rows, dtype=np.int64),
            np.arange(n_cols, dtype=np.int64),
        )
    gain = np.minimum(cost - thresh, 0.0)
    rows, cols = linear_sum_assignment(gain)
    keep = gain[rows, cols] < 0.0
    matches = np.stack([rows[keep], cols[keep]], axis=1).astype(np.int64)
    matched_rows = np.zeros(n_rows, bool)
    matched_cols = np.zeros(n_cols, bool)
    matched_rows[matches[:, 0]] = True
    matched_cols[matches[:, 1]] = True
    return (
        matches,
        np.flatnonzero(~matched_rows).astype(np.int64),
        np.flatnonzero(~matched_cols).astype(np.int64),
    )

"""Greedy non-maximum suppression for one class (people), in numpy.

Class-agnostic because only persons are kept. The usual few hundred candidates get one vectorised IoU
matrix and a cheap boolean sweep (~50 us for 130 boxes, ten times faster than a numpy call per kept
box); huge candidate sets (a very low confidence) fall back to row-at-a-time so memory stays bounded.
IoU uses continuous coordinates (no +1), as torchvision does.
"""

from __future__ import annotations

import numpy as np

from vtrack.analytics.types import FloatArray, IntArray

MATRIX_LIMIT = 1024  # candidates up to which a k x k IoU matrix (4 MiB at the limit) is built


def iou_matrix(a: FloatArray, b: FloatArray) -> FloatArray:
    """IoU of every xyxy box in `a` (N) against every box in `b` (M): N x M."""
    ix1 = np.maximum(a[:, None, 0], b[None, :, 0])
    iy1 = np.maximum(a[:, None, 1], b[None, :, 1])
    ix2 = np.minimum(a[:, None, 2], b[None, :, 2])
    iy2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(ix2 - ix1, 0, None) * np.clip(iy2 - iy1, 0, None)
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    union = area_a[:, None] + area_b[None, :] - inter
    positive = union > 0
    return np.where(positive, inter / np.where(positive, union, 1), 0).astype(np.float32)


def box_iou(box: FloatArray, others: FloatArray) -> FloatArray:
    """IoU of one xyxy box against N boxes."""
    row: FloatArray = iou_matrix(np.asarray(box, np.float32).reshape(1, 4), others)[0]
    return row


def nms(xyxy: FloatArray, scores: FloatArray, iou_threshold: float, max_det: int = 300) -> IntArray:
    """Indices of the boxes kept, best score first; a box is dropped when IoU > threshold with a kept one."""
    order = np.argsort(-scores, kind="stable")
    if len(order) > MATRIX_LIMIT:
        return _nms_rows(xyxy, order, iou_threshold, max_det)
    boxes = xyxy[order]
    overlaps = iou_matrix(boxes, boxes) > iou_threshold
    suppressed = np.zeros(len(order), np.bool_)
    keep: list[int] = []
    for i in range(len(order)):
        if suppressed[i]:
            continue
        keep.append(i)
        if len(keep) >= max_det:
            break
        suppressed |= overlaps[i]  # marks earlier boxes too, which have already been decided
    return order[np.asarray(keep, np.int64)]


def _nms_rows(xyxy: FloatArray, order: IntArray, iou_threshold: float, max_det: int) -> IntArray:
    keep: list[int] = []
    while order.size and len(keep) < max_det:
        best = int(order[0])
        keep.append(best)
        rest = order[1:]
        order = rest[box_iou(xyxy[best], xyxy[rest]) <= iou_threshold]
    return np.asarray(keep, np.int64)

"""Synthetic pedestrian scenes with known ground truth, and their py-motmetrics score.

People walk at constant velocity in alternating directions along a shared horizontal band (bouncing off
the frame edges; late arrivals walk in from the side), so paths cross often. A detector is imitated: noisy
boxes, random misses, spurious weak boxes, and a person more than half hidden behind a nearer one (larger
bottom y) gets a *low* score, the way real detectors report partly hidden people.
Scoring uses an independent IoU (not the tracker's) so the tracker never marks its own homework.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import motmetrics as mm  # type: ignore[import-untyped]  # no type information
import numpy as np
import numpy.typing as npt

from vtrack.analytics.types import Detections, Track

Box = npt.NDArray[np.float64]
WIDTH, HEIGHT = 1280, 720


@dataclass
class Scene:
    truth: list[dict[int, Box]]  # per frame: person id -> true (x1, y1, x2, y2)
    detections: list[Detections]


def _iou(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return float(inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter))


def _covered(box: Box, front: Box) -> float:
    """Fraction of `box` hidden behind `front`."""
    w = min(box[2], front[2]) - max(box[0], front[0])
    h = min(box[3], front[3]) - max(box[1], front[1])
    return float(max(w, 0.0) * max(h, 0.0) / ((box[2] - box[0]) * (box[3] - box[1])))


def walkers(
    seed: int,
    people: int = 8,
    frames: int = 300,
    noise: float = 0.02,
    miss: float = 0.03,
    clutter: float = 0.3,
) -> Scene:
    """`noise`: box jitter as a fraction of the height; `miss`: chance a visible person gets no box;
    `clutter`: expected number of spurious low-score boxes per frame."""
    rng = np.random.default_rng(seed)
    heights = rng.uniform(110, 190, people)
    widths = heights * rng.uniform(0.35, 0.45, people)
    pos = np.stack([rng.uniform(50, WIDTH - 250, people), rng.uniform(220, 420, people)], axis=1)
    # Alternate directions so that most occlusions are people passing each other, not walking in step.
    speed = rng.uniform(1.5, 4.5, people) * np.where(np.arange(people) % 2 == 0, 1.0, -1.0)
    vel = np.stack([speed, rng.uniform(-0.4, 0.4, people)], axis=1)
    starts = rng.integers(0, frames // 4, people)
    ends = rng.integers(frames * 3 // 4, frames + 1, people)
    starts[: people // 2] = 0  # half the people are there from the first frame, the others walk in
    inside = starts == 0
    # Walkers-in start 70 % outside the picture, on the side they walk in from.
    pos[~inside, 0] = np.where(speed[~inside] > 0, -0.7 * widths[~inside], WIDTH - 0.3 * widths[~inside])
    truth: list[dict[int, Box]] = []
    detections: list[Detections] = []
    for f in range(frames):
        boxes: dict[int, Box] = {}
        for p in range(people):
            if not starts[p] <= f < ends[p]:
                continue
            x, y = pos[p]
            boxes[p + 1] = np.array([max(x, 0.0), y, min(x + widths[p], WIDTH), y + heights[p]])
            pos[p] += vel[p]
            limits = (WIDTH - widths[p], HEIGHT - heights[p])
            inside[p] = inside[p] or 0 <= pos[p, 0] <= limits[0]
            for axis in (0, 1) if inside[p] else (1,):
                if not 0 <= pos[p, axis] <= limits[axis]:
                    vel[p, axis] = -vel[p, axis]
                    pos[p, axis] = min(max(pos[p, axis], 0.0), limits[axis])
        truth.append(boxes)
        detections.append(_detect(rng, boxes, noise, miss, clutter))
    return Scene(truth, detections)


def _detect(
    rng: np.random.Generator, boxes: dict[int, Box], noise: float, miss: float, clutter: float
) -> Detections:
    out_boxes: list[Box] = []
    out_scores: list[float] = []
    for pid, box in boxes.items():
        hidden = any(
            other_id != pid and other[3] > box[3] and _covered(box, other) > 0.5
            for other_id, other in boxes.items()
        )
        if rng.random() < miss:
            continue
        h = box[3] - box[1]
        out_boxes.append(box + rng.normal(0.0, noise * h, 4))
        out_scores.append(float(rng.uniform(0.15, 0.45) if hidden else rng.uniform(0.65, 0.95)))
    for _ in range(rng.poisson(clutter)):
        x, y = rng.uniform(0, WIDTH - 60), rng.uniform(0, HEIGHT - 150)
        out_boxes.append(np.array([x, y, x + rng.uniform(20, 60), y + rng.uniform(50, 150)]))
        out_scores.append(float(rng.uniform(0.1, 0.3)))
    if not out_boxes:
        return Detections.empty()
    return Detections.from_arrays(np.stack(out_boxes), out_scores)


def evaluate(scene: Scene, update: Callable[[Detections], list[Track]]) -> dict[str, float]:
    """Run `update` over the scene (confirmed tracks only, as MotWriter would write) and score it."""
    acc = mm.MOTAccumulator(auto_id=True)
    for truth, dets in zip(scene.truth, scene.detections, strict=True):
        tracks = [t for t in update(dets) if t.confirmed]
        dist = np.full((len(truth), len(tracks)), np.nan)
        for i, gt in enumerate(truth.values()):
            for j, track in enumerate(tracks):
                iou = _iou(gt, np.asarray(track.xyxy))
                if iou >= 0.5:
                    dist[i, j] = 1.0 - iou
        acc.update(list(truth), [t.track_id for t in tracks], dist)
    summary = mm.metrics.create().compute(
        acc, metrics=["mota", "num_switches", "num_misses", "num_false_positives", "idf1"], name="scene"
    )
    return {str(k): float(v) for k, v in summary.iloc[0].items()}

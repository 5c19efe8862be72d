"""ByteTrack (Zhang et al., ECCV 2022): IoU + Kalman tracking that also associates low-score boxes.

Why ByteTrack: a person partly hidden behind another still gets a box, just a weak one. Trackers that drop
boxes under a confidence threshold lose the person for exactly those frames and often give them a new id
afterwards, which breaks counting. ByteTrack first matches tracks to confident boxes, then offers the
tracks left over the weak boxes (IoU only), so occluded people keep their id, while weak boxes alone never
start a track, so clutter does not create phantom people.

The stages follow the reference implementation (ifzhang/ByteTrack, byte_tracker.py):
  1. confirmed + lost tracks (Kalman-predicted) vs high-score boxes, cost 1 - IoU*score, `match_thresh`;
  2. tracks still unmatched that were tracked last frame vs low-score boxes, cost 1 - IoU, limit 0.5;
     the ones left become lost;
  3. unconfirmed tracks (born last frame) vs the high boxes left, 1 - IoU*score, limit 0.7; an unconfirmed
     track that finds no box is removed at once (a one-frame blip is not a person);
  4. high boxes still left with score >= `new_track_thresh` start tracks (confirmed at once only on the
     first frame, otherwise on their second matched frame);
  5. lost tracks unseen for more than track_buffer * frame_rate / 30 frames are removed; a tracked and a
     lost track covering the same place (IoU > 0.85) are merged by dropping the younger one.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from numbers import Real

import numpy as np

from vtrack.analytics.errors import AnalyticsConfigError
from vtrack.analytics.tracking.matching import fuse_score, iou_distance, linear_assignment
from vtrack.analytics.tracking.strack import (
    Measurement,
    STrack,
    boxes_of,
    kalman_predict,
    kalman_update,
    report,
)
from vtrack.analytics.types import Detections, FloatArray, Track

log = logging.getLogger(__name__)

SECOND_MATCH_THRESH = 0.5  # stage 2 limit on 1 - IoU (reference value, not exposed there either)
UNCONFIRMED_MATCH_THRESH = 0.7  # stage 3 limit on 1 - IoU*score
DUPLICATE_IOU_DISTANCE = 0.15  # tracked/lost pairs closer than this are one person


@dataclass(frozen=True)
class TrackerConfig:
    """ByteTrack's knobs with the reference defaults for 30 fps pedestrian video.

    low_thresh == track_thresh leaves no low-score band, i.e. switches the second association off.
    """

    track_thresh: float = 0.5  # boxes above this are "high" (stage 1, may start tracks)
    low_thresh: float = 0.1  # boxes above this and up to track_thresh are "low" (stage 2 only)
    new_track_thresh: float = 0.6  # an unmatched high box starts a track only from this score
    match_thresh: float = 0.8  # stage 1 limit on 1 - IoU*score
    track_buffer: int = 30  # frames (at 30 fps) a lost track is kept for re-identification

    def __post_init__(self) -> None:
        for name in ("track_thresh", "low_thresh", "new_track_thresh", "match_thresh"):
            value = getattr(self, name)
            if isinstance(value, bool) or not (isinstance(value, Real) and 0.0 <= float(value) <= 1.0):
                raise AnalyticsConfigError(name, f"must be a number between 0 and 1, got {value!r}")
        if self.low_thresh > self.track_thresh:
            raise AnalyticsConfigError(
                "low_thresh", f"must not exceed track_thresh ({self.low_thresh} > {self.track_thresh})"
            )
        buffer = self.track_buffer
        if isinstance(buffer, bool) or not isinstance(buffer, int) or buffer < 0:
            raise AnalyticsConfigError(
                "track_buffer", f"must be a whole number >= 0, got {self.track_buffer!r}"
            )


class ByteTracker:
    """One tracker per video stream and run; ids start at 1 and are never reused by this instance."""

    def __init__(self, config: TrackerConfig | None = None, frame_rate: float = 30.0) -> None:
        if not (math.isfinite(frame_rate) and frame_rate > 0):
            raise AnalyticsConfigError("frame_rate", f"must be a positive number, got {frame_rate!r}")
        self.config = config or TrackerConfig()
        self.max_time_lost = int(frame_rate / 30.0 * self.config.track_buffer)
        self._frame = 0
        self._next_id = 1
        self._tracked: list[STrack] = []  # matched this frame: confirmed ones and newborn unconfirmed ones
        self._lost: list[STrack] = []
        self._removed: list[int] = []

    @property
    def frame_id(self) -> int:
        """Number of frames given to `update` so far."""
        return self._frame

    def update(self, detections: Detections) -> list[Track]:
        """Advance one frame; returns the tracks matched or born in it (lost tracks are not reported)."""
        self._frame += 1
        cfg = self.config
        boxes, scores = _valid(detections)
        high = scores > cfg.track_thresh
        low = (scores > cfg.low_thresh) & ~high
        high_boxes, high_scores = boxes[high], scores[high]
        low_boxes, low_scores = boxes[low], scores[low]

        unconfirmed = [t for t in self._tracked if not t.confirmed]
        pool = [t for t in self._tracked if t.confirmed] + self._lost
        kalman_predict(pool)
        matched: list[tuple[STrack, Measurement]] = []

        # Stage 1: everyone who may still be in the picture vs the confident boxes.
        cost = fuse_score(iou_distance(boxes_of(pool), high_boxes), high_scores)
        pairs, left_pool, left_high = linear_assignment(cost, cfg.match_thresh)
        matched += [(pool[i], (high_boxes[j], float(high_scores[j]))) for i, j in pairs]

        # Stage 2: tracks that were visible last frame vs the weak boxes (occluded people).
        remaining = [pool[i] for i in left_pool if pool[i].tracked]
        pairs, left_remaining, _ = linear_assignment(
            iou_distance(boxes_of(remaining), low_boxes), SECOND_MATCH_THRESH
        )
        matched += [(remaining[i], (low_boxes[j], float(low_scores[j]))) for i, j in pairs]
        newly_lost = [remaining[i] for i in left_remaining]

        # Stage 3: tracks born last frame vs confident boxes nobody took; a miss ends them.
        free_boxes, free_scores = high_boxes[left_high], high_scores[left_high]
        cost = fuse_score(iou_distance(boxes_of(unconfirmed), free_boxes), free_scores)
        pairs, left_unconfirmed, left_free = linear_assignment(cost, UNCONFIRMED_MATCH_THRESH)
        matched += [(unconfirmed[i], (free_boxes[j], float(free_scores[j]))) for i, j in pairs]
        gone = [unconfirmed[i] for i in left_unconfirmed]

        kalman_update(matched, self._frame)
        for track in newly_lost:
            track.tracked = False

        # Stage 4: births.
        births = left_free[free_scores[left_free] >= cfg.new_track_thresh]
        born = [self._birth(free_boxes[j], float(free_scores[j])) for j in births]

        # Stage 5: bookkeeping of the two pools.
        gone_ids = {t.track_id for t in gone}
        alive = [t for t in self._tracked if t.tracked and t.track_id not in gone_ids]
        alive += [t for t in self._lost if t.tracked] + born
        lost = [t for t in self._lost if not t.tracked] + newly_lost
        expired = [t for t in lost if self._frame - t.last_frame > self.max_time_lost]
        lost = [t for t in lost if self._frame - t.last_frame <= self.max_time_lost]
        alive, lost, duplicates = _drop_duplicates(alive, lost)
        self._tracked, self._lost = alive, lost
        self._removed += [t.track_id for t in gone + expired + duplicates]
        return report(self._tracked, self._frame)

    def take_removed(self) -> list[int]:
        """Ids the tracker forgot since the last call, for good: lost too long, never confirmed, duplicates.

        Every id `update` ever reported ends up here exactly once (unless still active at the end of the run).
        """
        removed, self._removed = self._removed, []
        return removed

    def active_ids(self) -> list[int]:
        """Ids still held: tracked this frame or lost but within the buffer (they may come back)."""
        return sorted(t.track_id for t in self._tracked + self._lost)

    def _birth(self, box: FloatArray, score: float) -> STrack:
        track = STrack.start(self._next_id, box, score, self._frame, confirmed=self._frame == 1)
        self._next_id += 1
        return track


def _valid(detections: Detections) -> tuple[FloatArray, FloatArray]:
    """Boxes the filter can take: finite, positive width and height (aspect = w/h must exist)."""
    boxes, scores = detections.xyxy, detections.scores
    ok = (
        np.isfinite(boxes).all(axis=1)
        & np.isfinite(scores)
        & (boxes[:, 2] > boxes[:, 0])
        & (boxes[:, 3] > boxes[:, 1])
    )
    if not ok.all():
        log.debug("tracker ignores %d degenerate boxes", int((~ok).sum()))
        return boxes[ok], scores[ok]
    return boxes, scores


def _drop_duplicates(
    tracked: list[STrack], lost: list[STrack]
) -> tuple[list[STrack], list[STrack], list[STrack]]:
    """A lost track re-found under a new id overlaps its old self: keep the one with the longer history."""
    dist = iou_distance(boxes_of(tracked), boxes_of(lost))
    drop_tracked: set[int] = set()
    drop_lost: set[int] = set()
    for p, q in zip(*np.nonzero(dist < DUPLICATE_IOU_DISTANCE), strict=True):
        if tracked[p].history > lost[q].history:
            drop_lost.add(int(q))
        else:
            drop_tracked.add(int(p))
    dropped = [tracked[i] for i in sorted(drop_tracked)] + [lost[i] for i in sorted(drop_lost)]
    return (
        [t for i, t in enumerate(tracked) if i not in drop_tracked],
        [t for i, t in enumerate(lost) if i not in drop_lost],
        dropped,
    )

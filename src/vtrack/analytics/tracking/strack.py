"""One track's filter state inside ByteTracker, and the batched Kalman steps over lists of them.

Kept apart from the association logic so that bytetrack.py reads as the algorithm and this module as the
state it moves around. Tracks compare by identity (no dataclass equality over numpy arrays).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from vtrack.analytics.tracking.kalman import KalmanFilter, xyah_to_xyxy, xyxy_to_xyah
from vtrack.analytics.types import Track

Measurement = tuple[npt.NDArray[np.float32], float]  # (x1, y1, x2, y2) box, score

_KALMAN = KalmanFilter()  # stateless: one instance serves every track
_VH = 7  # index of the height velocity in the state


class STrack:
    """Kalman state plus ByteTrack's bookkeeping: confirmed ("activated"), tracked-or-lost, frames seen."""

    __slots__ = (
        "confirmed",
        "covariance",
        "last_frame",
        "mean",
        "score",
        "start_frame",
        "track_id",
        "tracked",
    )

    def __init__(
        self,
        track_id: int,
        mean: npt.NDArray[np.float64],
        covariance: npt.NDArray[np.float64],
        score: float,
        frame: int,
        *,
        confirmed: bool,
    ) -> None:
        self.track_id = track_id
        self.mean = mean
        self.covariance = covariance
        self.score = score
        self.start_frame = frame
        self.last_frame = frame  # the last frame a box was matched to it
        self.confirmed = confirmed
        self.tracked = True  # False = lost: unmatched last time, kept for re-identification

    @classmethod
    def start(
        cls, track_id: int, box: npt.NDArray[np.float32], score: float, frame: int, *, confirmed: bool
    ) -> STrack:
        mean, covariance = _KALMAN.initiate(xyxy_to_xyah(box))
        return cls(track_id, mean[0], covariance[0], score, frame, confirmed=confirmed)

    @property
    def history(self) -> int:
        """Frames between birth and the last match: which of two duplicates has the longer past."""
        return self.last_frame - self.start_frame


def report(tracks: Sequence[STrack], frame: int) -> list[Track]:
    """The public view of the tracks, boxes taken from the filter (smoother than the raw detections)."""
    return [
        Track(
            track_id=t.track_id,
            xyxy=(x1, y1, x2, y2),
            score=t.score,
            confirmed=t.confirmed,
            age_frames=frame - t.start_frame,
        )
        for t, (x1, y1, x2, y2) in zip(tracks, boxes_of(tracks).tolist(), strict=True)
    ]


def boxes_of(tracks: Sequence[STrack]) -> npt.NDArray[np.float64]:
    """The tracks' current (predicted or corrected) boxes, N x 4 (x1, y1, x2, y2)."""
    if not tracks:
        return np.zeros((0, 4), np.float64)
    return xyah_to_xyxy(np.array([t.mean for t in tracks]))


def kalman_predict(tracks: Sequence[STrack]) -> None:
    """Predict every track one frame ahead; a lost track's height velocity is zeroed first (reference
    behaviour: a person out of sight should not keep growing or shrinking)."""
    if not tracks:
        return
    means = np.array([t.mean for t in tracks])
    covariances = np.array([t.covariance for t in tracks])
    lost = np.fromiter((not t.tracked for t in tracks), bool, len(tracks))
    means[lost, _VH] = 0.0
    means, covariances = _KALMAN.predict(means, covariances)
    for track, mean, covariance in zip(tracks, means, covariances, strict=True):
        track.mean = mean
        track.covariance = covariance


def kalman_update(matched: Sequence[tuple[STrack, Measurement]], frame: int) -> None:
    """Correct every matched track with its box in one batch; a match (re)confirms and (re)finds it."""
    if not matched:
        return
    tracks = [t for t, _ in matched]
    means = np.array([t.mean for t in tracks])
    covariances = np.array([t.covariance for t in tracks])
    boxes = np.array([box for _, (box, _) in matched])
    means, covariances = _KALMAN.update(means, covariances, xyxy_to_xyah(boxes))
    for (track, (_, score)), mean, covariance in zip(matched, means, covariances, strict=True):
        track.mean = mean
        track.covariance = covariance
        track.score = score
        track.last_frame = frame
        track.confirmed = True
        track.tracked = True

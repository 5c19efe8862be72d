"""Per-track gender/age by weighted voting over a few well-chosen crops.

One crop is a poor witness: the person may be half out of frame, blurred, turned away or tiny. So each
track gets up to `votes` votes, at most one per `interval_frames` frames; between votes the voter keeps
the best crop seen (tall, confidently detected, not cut by the frame border) and classifies that one when
the interval is up, and each vote counts in proportion to its crop's quality. All crops due in a frame go
to the model in one batched call. A track that ends before its first vote is due gets its best crop
classified at `finish`, so short visits are not all "unknown".
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vtrack.analytics.classify.base import AttributeModel, AttributeScores
from vtrack.analytics.errors import ModelError
from vtrack.analytics.types import Attributes, Image, Track

log = logging.getLogger(__name__)

# A box within this many pixels of the frame edge is probably cut by it: the classifier sees part of a
# person, so the crop is worth this fraction of an uncut one.
_BORDER_MARGIN = 2.0
_BORDER_PENALTY = 0.5


@dataclass
class _Candidate:
    crop: Image
    quality: float


@dataclass
class _TrackVotes:
    window_start: int  # frame index of the first candidate since the last vote
    candidate: _Candidate | None = None
    count: int = 0
    weight: float = 0.0
    male: float = 0.0  # quality-weighted sum of P(male)
    age_weight: float = 0.0
    age: float = 0.0  # quality-weighted sum of ages, over votes that had one


class AttributeVoter:
    """One per channel, fed every processed frame; does nothing without a model."""

    def __init__(
        self, model: AttributeModel | None, votes: int = 5, interval_frames: int = 5, min_height: int = 40
    ) -> None:
        if votes < 1 or interval_frames < 1 or min_height < 1:
            raise ValueError("votes, interval_frames and min_height must be at least 1")
        self.model = model
        self.votes = votes
        self.interval_frames = interval_frames
        self.min_height = min_height
        self._tracks: dict[int, _TrackVotes] = {}

    def observe(self, image: Image, tracks: Sequence[Track], frame_index: int) -> None:
        if self.model is None:
            return
        height, width = image.shape[:2]
        due: list[tuple[_TrackVotes, _Candidate]] = []
        for track in tracks:
            if not track.confirmed:
                continue
            state = self._tracks.get(track.track_id)
            if state is not None and state.count >= self.votes:
                continue
            candidate = _candidate(image, track, width, height, self.min_height)
            if candidate is None:
                continue
            if state is None:
                state = self._tracks[track.track_id] = _TrackVotes(frame_index)
            elif state.candidate is None:
                state.window_start = frame_index
            if state.candidate is None or candidate.quality > state.candidate.quality:
                candidate.crop = candidate.crop.copy()  # the frame buffer is reused by the decoder
                state.candidate = candidate
            if frame_index - state.window_start + 1 >= self.interval_frames:
                due.append((state, state.candidate))
                state.candidate = None
        if due:
            _vote(self.model, due)

    def attributes(self, track_id: int) -> Attributes:
        state = self._tracks.get(track_id)
        if state is None or state.count == 0 or state.weight <= 0:
            return Attributes()
        p_male = state.male / state.weight
        if p_male > 0.5:
            gender, confidence = "male", p_male
        elif p_male < 0.5:
            gender, confidence = "female", 1.0 - p_male
        else:
            gender, confidence = "unknown", 0.5
        age = state.age / state.age_weight if state.age_weight > 0 else None
        return Attributes(gender, confidence, age, state.count)

    def finish(self, track_id: int) -> Attributes:
        """Final attributes of a track that ended; its state is dropped."""
        state = self._tracks.get(track_id)
        if self.model is not None and state is not None and state.candidate is not None and state.count == 0:
            _vote(self.model, [(state, state.candidate)])
        result = self.attributes(track_id)
        self._tracks.pop(track_id, None)
        return result


def _vote(model: AttributeModel, due: list[tuple[_TrackVotes, _Candidate]]) -> None:
    scores = model.predict([candidate.crop for _, candidate in due])
    if len(scores) != len(due):
        raise ModelError(f"the attribute model returned {len(scores)} results for {len(due)} crops")
    for (state, candidate), score in zip(due, scores, strict=True):
        _add_vote(state, candidate.quality, score)


def _add_vote(state: _TrackVotes, quality: float, score: AttributeScores) -> None:
    state.count += 1  # a vote is spent even when unusable, so a broken model cannot keep a track busy
    if not math.isfinite(score.male):
        log.debug("attribute vote with non-finite P(male) ignored")
        return
    state.weight += quality
    state.male += quality * score.male
    if score.age is not None and math.isfinite(score.age):
        state.age_weight += quality
        state.age += quality * score.age


def _candidate(image: Image, track: Track, width: int, height: int, min_height: int) -> _Candidate | None:
    x1, y1, x2, y2 = track.xyxy
    left, top = max(0, math.floor(x1)), max(0, math.floor(y1))
    right, bottom = min(width, math.ceil(x2)), min(height, math.ceil(y2))
    if bottom - top < min_height or right - left < 2:
        return None
    quality = float(bottom - top) * max(float(track.score), 1e-3)
    cut = (
        x1 <= _BORDER_MARGIN
        or y1 <= _BORDER_MARGIN
        or x2 >= width - _BORDER_MARGIN
        or y2 >= height - _BORDER_MARGIN
    )
    if cut:
        quality *= _BORDER_PENALTY
    return _Candidate(np.asarray(image[top:bottom, left:right]), quality)

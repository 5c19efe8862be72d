"""One stream's analysis step: detections -> tracks -> count events, attributes and finished tracks.

Detections come from the pipeline's detector, or from outside (a MOT file) when it has none. Everything
here runs on one thread per stream and keeps no locks; a detector shared by streams brings its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vtrack.analytics.classify.voter import AttributeVoter
from vtrack.analytics.counting.counter import Counter
from vtrack.analytics.detectors.base import Detector
from vtrack.analytics.track_log import TrackLog, TrackRecord
from vtrack.analytics.tracking.bytetrack import ByteTracker
from vtrack.analytics.types import Attributes, CountEvent, Detections, FrameInput, Track


@dataclass
class StepResult:
    frame: FrameInput
    detections: Detections
    tracks: list[Track]
    events: list[CountEvent]
    finished: list[TrackRecord]
    genders: dict[int, str] = field(default_factory=dict)  # track id -> gender so far, for this step's events


class Pipeline:
    def __init__(
        self,
        detector: Detector | None,
        tracker: ByteTracker,
        counter: Counter,
        voter: AttributeVoter,
        frame_size: tuple[int, int],
    ) -> None:
        self.frame_size = frame_size  # (width, height) the lines and zones were resolved for
        self.detector = detector
        self.tracker = tracker
        self.counter = counter
        self.voter = voter
        self.log = TrackLog()
        self.frames = 0  # processed so far, and the detections they held
        self.detections = 0

    def process(self, frame: FrameInput, detections: Detections | None = None) -> StepResult:
        if detections is None:
            if self.detector is None:
                raise RuntimeError("this pipeline takes detections from outside (MOT input)")
            detections = self.detector.detect([frame.image])[0]
        at = frame.captured_at
        self.frames += 1
        self.detections += len(detections)
        tracks = self.tracker.update(detections)
        events = self.counter.update(tracks, at)
        self.voter.observe(frame.image, tracks, frame.index)
        self.log.observe(tracks, at)
        removed = self.tracker.take_removed()
        events += self.counter.finish(removed, at)
        # Before _finish: finishing a track makes the voter forget it.
        genders = {e.track_id: self.voter.attributes(e.track_id).gender for e in events}
        finished = self._finish(removed)
        return StepResult(frame, detections, tracks, events, finished, genders)

    def close(self, at: float) -> tuple[list[CountEvent], list[TrackRecord]]:
        """End of the run: zone exits for everyone inside and a record for every open track."""
        events = self.counter.close(at)
        return events, self._finish(self.log.open_ids())

    def _finish(self, track_ids: list[int]) -> list[TrackRecord]:
        attributes: dict[int, Attributes] = {t: self.voter.finish(t) for t in track_ids}
        return self.log.finish(track_ids, attributes)

    def totals(self) -> dict[str, Any]:
        totals = self.counter.totals()
        totals["tracks"] = self.log.finished_count + len(self.log)
        return totals

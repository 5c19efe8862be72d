"""Everything one analysis run is configured with, and building its pipeline from that.

The same options drive `vtrack analyze` on a file or URL and the server's live channels, which is what
makes a file run and a live run of the same clip comparable (step 6's consistency check).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vtrack.analytics.classify.base import ClassifierConfig
from vtrack.analytics.classify.loader import load_attribute_model
from vtrack.analytics.classify.voter import AttributeVoter
from vtrack.analytics.counting.counter import Counter
from vtrack.analytics.counting.specs import LineSpec, ZoneSpec
from vtrack.analytics.detectors.base import Detector, DetectorConfig
from vtrack.analytics.detectors.factory import build_detector
from vtrack.analytics.errors import AnalyticsConfigError
from vtrack.analytics.pipeline import Pipeline
from vtrack.analytics.tracking.bytetrack import ByteTracker, TrackerConfig
from vtrack.analytics.types import Detections, Image

# Detections down to ByteTrack's low threshold are kept: its second association needs the weak boxes of
# partly hidden people, and the tracker, not the detector, decides what starts a track.
DEFAULT_DETECTOR = DetectorConfig(confidence=0.1)


@dataclass(frozen=True)
class AnalysisOptions:
    detector: str = "yolox"
    model: Path | None = None
    detector_config: DetectorConfig = DEFAULT_DETECTOR
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    lines: tuple[LineSpec, ...] = ()
    zones: tuple[ZoneSpec, ...] = ()
    gender_model: Path | None = None
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)
    stride: int = 1  # analyse every Nth frame (files); live channels always take the newest frame

    def __post_init__(self) -> None:
        if self.stride < 1:
            raise AnalyticsConfigError("stride", f"must be at least 1, got {self.stride}")

    def to_dict(self) -> dict[str, Any]:
        """For the run's `config` column: what produced these numbers."""
        return {
            "detector": self.detector,
            "model": str(self.model) if self.model else None,
            "confidence": self.detector_config.confidence,
            "nms_iou": self.detector_config.nms_iou,
            "input_size": list(self.detector_config.input_size),
            "tracker": asdict(self.tracker),
            "lines": [line.to_dict() for line in self.lines],
            "zones": [zone.to_dict() for zone in self.zones],
            "gender_model": str(self.gender_model) if self.gender_model else None,
            "stride": self.stride,
        }

    def build_detector(self) -> Detector:
        return build_detector(self.detector, self.model, self.detector_config)


class SharedDetector:
    """A stateless detector used by several channel threads, one call at a time.

    ONNX Runtime could run calls concurrently, but the detectors reuse preallocated input buffers, and
    on a two-core box a second concurrent inference only competes with the decoders for the same cores.
    """

    def __init__(self, detector: Detector) -> None:
        self.inner = detector
        self.name = detector.name
        self.stateful = detector.stateful
        self._lock = threading.Lock()

    def detect(self, images: Sequence[Image]) -> list[Detections]:
        with self._lock:
            return self.inner.detect(images)

    def close(self) -> None:
        self.inner.close()


def build_pipeline(
    options: AnalysisOptions,
    detector: Detector | None,
    frame_size: tuple[int, int],
    frame_rate: float,
    voter: AttributeVoter | None = None,
) -> Pipeline:
    """A fresh tracker, counter and voter for one stream; the detector may be shared."""
    counter = Counter(options.lines, options.zones, frame_size)
    if voter is None:
        voter = AttributeVoter(load_attribute_model(options.gender_model, options.classifier))
    return Pipeline(detector, ByteTracker(options.tracker, frame_rate=frame_rate), counter, voter, frame_size)

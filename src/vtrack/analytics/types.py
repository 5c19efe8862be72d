"""The few value types every analytics stage passes to the next (detect -> track -> count -> classify).

One central `Detections` type, as in roboflow/supervision: arrays of equal length rather than a list of
small objects, because a frame holds tens of boxes and every stage is vectorised over them.
Coordinates are always pixels of the original frame, (x1, y1, x2, y2), float32.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]
Image = npt.NDArray[np.uint8]  # H x W x 3, BGR (OpenCV's and FFmpeg's bgr24 order)
Point = tuple[float, float]

PERSON_CLASS = 0  # COCO's "person", the only class vtrack counts


@dataclass(frozen=True)
class Detections:
    xyxy: FloatArray  # N x 4
    scores: FloatArray  # N
    class_ids: IntArray  # N

    def __post_init__(self) -> None:
        n = len(self.xyxy)
        if self.xyxy.shape != (n, 4) or self.scores.shape != (n,) or self.class_ids.shape != (n,):
            raise ValueError(
                f"Detections arrays disagree: xyxy {self.xyxy.shape}, scores {self.scores.shape}, "
                f"class_ids {self.class_ids.shape}"
            )

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros((0,), np.float32), np.zeros((0,), np.int64))

    @classmethod
    def from_arrays(
        cls, xyxy: npt.ArrayLike, scores: npt.ArrayLike, class_ids: npt.ArrayLike | None = None
    ) -> Detections:
        boxes = np.asarray(xyxy, np.float32).reshape(-1, 4)
        return cls(
            boxes,
            np.asarray(scores, np.float32).reshape(-1),
            np.zeros(len(boxes), np.int64)
            if class_ids is None
            else np.asarray(class_ids, np.int64).reshape(-1),
        )

    def __len__(self) -> int:
        return len(self.xyxy)

    def select(self, mask: npt.NDArray[np.bool_] | IntArray) -> Detections:
        return Detections(self.xyxy[mask], self.scores[mask], self.class_ids[mask])


@dataclass
class Track:
    """One tracked person in the current frame, as the tracker reports it."""

    track_id: int  # stable for the life of the track, unique within a run, starts at 1
    xyxy: tuple[float, float, float, float]
    score: float
    confirmed: bool  # ByteTrack's "activated": matched on enough frames to be trusted (counted)
    age_frames: int  # frames since the track was born

    @property
    def anchor(self) -> Point:
        """Bottom centre: where the person stands, the point lines and zones are tested on."""
        x1, _, x2, y2 = self.xyxy
        return ((x1 + x2) / 2.0, y2)


@dataclass(frozen=True)
class CountEvent:
    """A line crossing or a zone entry/exit, produced by counting and persisted by sinks."""

    kind: str  # "line" | "zone_enter" | "zone_exit"
    name: str  # the line's or zone's name
    track_id: int
    at: float  # the frame's capture time, seconds since the epoch (UTC)
    direction: str | None = None  # lines: "in" | "out"
    dwell_seconds: float | None = None  # zone_exit: time inside
    point: Point | None = None


@dataclass(frozen=True)
class Attributes:
    """What a classifier decided about a track after voting; "unknown" without a model."""

    gender: str = "unknown"  # "male" | "female" | "unknown"
    gender_confidence: float = 0.0
    age: float | None = None
    votes: int = 0


@dataclass
class FrameInput:
    """A decoded frame with the clocks latency is measured against."""

    image: Image
    index: int  # frame number in the stream (decoded frames, counting ones dropped unprocessed)
    captured_at: float  # wall clock (epoch seconds) when the reader got the frame (or the file's pts)
    captured_mono: float  # time.monotonic() at the same moment, for latency
    extra: dict[str, object] = field(default_factory=dict)

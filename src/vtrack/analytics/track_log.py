"""What is remembered about each track for the tracks table: when, how long, and a coarse path.

The path is sampled (at most one point per `sample_seconds`, at most `max_points`) rather than kept
per frame: a person walking for a minute at 15 fps would otherwise store 900 points for a summary.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from vtrack.analytics.types import Attributes, Track


@dataclass
class TrackRecord:
    track_id: int
    first_seen: float  # epoch seconds
    last_seen: float
    frames: int = 0
    path: list[tuple[float, float, float]] = field(default_factory=list)  # (seconds since first, x, y)
    attributes: Attributes = field(default_factory=Attributes)


class TrackLog:
    def __init__(self, sample_seconds: float = 0.5, max_points: int = 120) -> None:
        self.sample_seconds = sample_seconds
        self.max_points = max_points
        self._open: dict[int, TrackRecord] = {}
        self.finished_count = 0

    def observe(self, tracks: Sequence[Track], at: float) -> None:
        for track in tracks:
            if not track.confirmed:
                continue
            record = self._open.get(track.track_id)
            if record is None:
                record = self._open[track.track_id] = TrackRecord(track.track_id, at, at)
            record.last_seen = at
            record.frames += 1
            offset = at - record.first_seen
            if len(record.path) < self.max_points and (
                not record.path or offset - record.path[-1][0] >= self.sample_seconds
            ):
                x, y = track.anchor
                record.path.append((round(offset, 2), round(x, 1), round(y, 1)))

    def finish(self, track_ids: Iterable[int], attributes: dict[int, Attributes]) -> list[TrackRecord]:
        """Close these tracks; ones never confirmed have no record and are left out."""
        done = []
        for track_id in track_ids:
            record = self._open.pop(track_id, None)
            if record is None:
                continue
            record.attributes = attributes.get(track_id, Attributes())
            done.append(record)
        self.finished_count += len(done)
        return done

    def open_ids(self) -> list[int]:
        return list(self._open)

    def __len__(self) -> int:
        return len(self._open)

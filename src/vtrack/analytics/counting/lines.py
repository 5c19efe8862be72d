"""Counting crossings of one directed line, with a dead band so that a person standing on it counts once.

Each track has a committed side (+1 right of p1->p2, -1 left). Boxes jitter by several pixels from frame to
frame, so the anchor may hop across the line many times while someone waits on it; the committed side only
flips once the anchor is more than `hysteresis` pixels beyond the line. The flip counts only when the path
actually crossed the drawn segment, not its extension: someone walking around the end of a short line
changes side without being counted. Where the path crossed is taken from the last time the raw side
changed, so a person who lingered in the band is placed where they really stepped over.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vtrack.analytics.counting.geometry import crossing_point, projection, signed_distance
from vtrack.analytics.counting.specs import LineSpec
from vtrack.analytics.types import CountEvent, Point, Track

# How far past either end of the segment (as a fraction of its length) a crossing still counts: a line drawn
# edge to edge of a doorway should not miss the person whose feet land on the frame of the door.
SEGMENT_TOLERANCE = 0.02


@dataclass
class _TrackState:
    side: int  # committed side, 0 until the anchor first leaves the band
    last_point: Point  # the last anchor seen off the line itself, and its signed distance
    last_distance: float
    crossing: Point | None = None  # where the raw side last changed


class LineCounter:
    """Counts one resolved (pixel) line; feed it every frame's tracks in order."""

    def __init__(self, spec: LineSpec) -> None:
        if not spec.resolved:
            raise ValueError(f"line {spec.name!r} must be resolved to pixels first (LineSpec.resolve)")
        self.spec = spec
        self.counts = {"in": 0, "out": 0}
        self._tracks: dict[int, _TrackState] = {}

    def update(self, tracks: Sequence[Track], at: float) -> list[CountEvent]:
        events: list[CountEvent] = []
        for track in tracks:
            if track.confirmed:
                event = self._observe(track.track_id, track.anchor, at)
                if event is not None:
                    events.append(event)
        return events

    def forget(self, track_id: int) -> None:
        self._tracks.pop(track_id, None)

    def reset(self) -> None:
        self._tracks.clear()

    def _observe(self, track_id: int, anchor: Point, at: float) -> CountEvent | None:
        spec = self.spec
        distance = signed_distance(spec.p1, spec.p2, anchor)
        state = self._tracks.get(track_id)
        if state is None:
            if distance == 0:
                return None  # exactly on the line: nothing to compare later positions with yet
            state = self._tracks[track_id] = _TrackState(0, anchor, distance)
        elif distance != 0:
            if (distance > 0) != (state.last_distance > 0):
                state.crossing = crossing_point(state.last_point, anchor, state.last_distance, distance)
            state.last_point, state.last_distance = anchor, distance
        if abs(distance) <= spec.hysteresis:
            return None
        side = 1 if distance > 0 else -1
        if state.side == 0:
            state.side = side  # first sighting outside the band: where the track starts, not a crossing
            return None
        if side == state.side:
            return None
        state.side = side
        crossing, state.crossing = state.crossing, None
        if crossing is None:
            return None
        t = projection(spec.p1, spec.p2, crossing)
        if not -SEGMENT_TOLERANCE <= t <= 1 + SEGMENT_TOLERANCE:
            return None  # went around the end of the line
        direction = "in" if side > 0 else "out"
        self.counts[direction] += 1
        return CountEvent("line", spec.name, track_id, at, direction=direction, point=crossing)

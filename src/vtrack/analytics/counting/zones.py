"""Entries, exits and dwell time for one polygonal zone, debounced over consecutive frames.

A box's bottom edge wobbles, so an anchor near the outline flickers in and out; a change of state only
counts after `min_frames` observations in a row on the new side, and it is dated to the first of them, so
debouncing delays the event without skewing dwell times. A track that ends while inside leaves at the last
moment it was seen there: the tracker reports the end only after its lost-track buffer has run out, which
would otherwise add that buffer to every dwell.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from vtrack.analytics.counting.geometry import point_in_polygon
from vtrack.analytics.counting.specs import ZoneSpec
from vtrack.analytics.types import CountEvent, Point, Track


@dataclass
class _TrackState:
    inside: bool = False  # committed state
    entered_at: float = 0.0
    streak: int = 0  # consecutive observations contradicting `inside`
    streak_at: float = 0.0  # time and place of the first of them
    streak_point: Point | None = None
    last_at: float = 0.0  # last observation, and where it was
    last_point: Point | None = None


class ZoneCounter:
    """Counts one resolved (pixel) zone; feed it every frame's tracks in order."""

    def __init__(self, spec: ZoneSpec) -> None:
        if not spec.resolved:
            raise ValueError(f"zone {spec.name!r} must be resolved to pixels first (ZoneSpec.resolve)")
        self.spec = spec
        self.entries = 0
        self.exits = 0
        self.dwell_total = 0.0
        self.dwell_max: float | None = None
        self._tracks: dict[int, _TrackState] = {}

    def inside(self) -> int:
        return sum(1 for state in self._tracks.values() if state.inside)

    def dwell_avg(self) -> float | None:
        return self.dwell_total / self.exits if self.exits else None

    def update(self, tracks: Sequence[Track], at: float) -> list[CountEvent]:
        events: list[CountEvent] = []
        for track in tracks:
            if not track.confirmed:
                continue
            anchor = track.anchor
            state = self._tracks.setdefault(track.track_id, _TrackState())
            state.last_at, state.last_point = at, anchor
            if point_in_polygon(anchor, self.spec.polygon) == state.inside:
                state.streak = 0
                continue
            if state.streak == 0:
                state.streak_at, state.streak_point = at, anchor
            state.streak += 1
            if state.streak < self.spec.min_frames:
                continue
            state.streak = 0
            if state.inside:
                events.append(self._exit(track.track_id, state, state.streak_at, state.streak_point))
            else:
                state.inside, state.entered_at = True, state.streak_at
                self.entries += 1
                events.append(
                    CountEvent(
                        "zone_enter",
                        self.spec.name,
                        track.track_id,
                        state.streak_at,
                        point=state.streak_point,
                    )
                )
        return events

    def finish(self, track_ids: Iterable[int], at: float) -> list[CountEvent]:
        """Tracks that ended: exits for those inside, dated when they were last seen inside (never after
        `at`)."""
        events: list[CountEvent] = []
        for track_id in track_ids:
            state = self._tracks.pop(track_id, None)
            if state is not None and state.inside:
                if state.streak:
                    when, point = state.streak_at, state.streak_point
                else:
                    when, point = state.last_at, state.last_point
                events.append(self._exit(track_id, state, min(when, at), point))
        return events

    def close(self, at: float) -> list[CountEvent]:
        """End of the run: everyone still inside leaves."""
        return self.finish(list(self._tracks), at)

    def _exit(self, track_id: int, state: _TrackState, when: float, point: Point | None) -> CountEvent:
        state.inside = False
        dwell = max(0.0, when - state.entered_at)
        self.exits += 1
        self.dwell_total += dwell
        self.dwell_max = dwell if self.dwell_max is None else max(self.dwell_max, dwell)
        return CountEvent("zone_exit", self.spec.name, track_id, when, dwell_seconds=dwell, point=point)

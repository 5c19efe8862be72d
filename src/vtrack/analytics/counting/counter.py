"""One object per channel that runs every configured line and zone over the tracks of each frame."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from vtrack.analytics.counting.lines import LineCounter
from vtrack.analytics.counting.specs import LineSpec, ZoneSpec
from vtrack.analytics.counting.zones import ZoneCounter
from vtrack.analytics.errors import AnalyticsConfigError
from vtrack.analytics.types import CountEvent, Track


class Counter:
    """Lines and zones resolved against one frame size; a new run (or a new resolution) needs a new one."""

    def __init__(
        self, lines: Sequence[LineSpec], zones: Sequence[ZoneSpec], frame_size: tuple[int, int]
    ) -> None:
        width, height = frame_size
        _check_unique("line", [spec.name for spec in lines])
        _check_unique("zone", [spec.name for spec in zones])
        self._lines = [LineCounter(spec.resolve(width, height)) for spec in lines]
        self._zones = [ZoneCounter(spec.resolve(width, height)) for spec in zones]

    @property
    def lines(self) -> list[LineSpec]:
        """The lines in pixels, for drawing."""
        return [counter.spec for counter in self._lines]

    @property
    def zones(self) -> list[ZoneSpec]:
        return [counter.spec for counter in self._zones]

    def update(self, tracks: Sequence[Track], at: float) -> list[CountEvent]:
        events: list[CountEvent] = []
        for line in self._lines:
            events.extend(line.update(tracks, at))
        for zone in self._zones:
            events.extend(zone.update(tracks, at))
        return events

    def finish(self, track_ids: Iterable[int], at: float) -> list[CountEvent]:
        """Tracks the tracker dropped: zone exits for those inside, and their state is forgotten."""
        ids = list(track_ids)
        for line in self._lines:
            for track_id in ids:
                line.forget(track_id)
        events: list[CountEvent] = []
        for zone in self._zones:
            events.extend(zone.finish(ids, at))
        return events

    def close(self, at: float) -> list[CountEvent]:
        """End of the run: exits for everyone still inside; totals stay readable afterwards."""
        for line in self._lines:
            line.reset()
        events: list[CountEvent] = []
        for zone in self._zones:
            events.extend(zone.close(at))
        return events

    def totals(self) -> dict[str, Any]:
        return {
            "lines": {line.spec.name: dict(line.counts) for line in self._lines},
            "zones": {
                zone.spec.name: {
                    "entries": zone.entries,
                    "exits": zone.exits,
                    "inside": zone.inside(),
                    "dwell_avg": zone.dwell_avg(),
                    "dwell_max": zone.dwell_max,
                }
                for zone in self._zones
            },
        }


def _check_unique(kind: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise AnalyticsConfigError(kind, f"two {kind}s are named {name!r}; names must be unique")
        seen.add(name)

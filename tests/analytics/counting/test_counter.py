"""The per-channel Counter: lines and zones together, resolved once, with totals for reports."""

from __future__ import annotations

import pytest

from vtrack.analytics.counting import Counter, LineSpec, ZoneSpec, parse_line, parse_zone
from vtrack.analytics.errors import AnalyticsConfigError
from vtrack.analytics.types import Track


def person(track_id: int, x: float, y: float) -> Track:
    return Track(track_id, (x - 20.0, y - 100.0, x + 20.0, y), 0.9, True, 3)


def test_lines_and_zones_count_together_and_total_up() -> None:
    # 1280x720: the door is across the middle, the zone is the lower left quarter.
    counter = Counter(
        [parse_line("door:0.1,0.5,0.9,0.5", 0)],
        [parse_zone("corner:0,0.5,0.5,0.5,0.5,1,0,1", 0)],
        frame_size=(1280, 720),
    )
    assert counter.lines[0].p1 == (128.0, 360.0) and counter.lines[0].resolved
    assert counter.zones[0].polygon[2] == (640.0, 720.0)

    events = []
    for frame in range(40):  # person 1 walks down through the door into the corner and stays
        events += counter.update([person(1, 300.0, 200.0 + frame * 12)], at=100.0 + frame)
    kinds = [(e.kind, e.name, e.direction) for e in events]
    assert kinds == [("line", "door", "in"), ("zone_enter", "corner", None)]
    assert counter.totals()["zones"]["corner"]["inside"] == 1

    assert [(e.kind, e.at) for e in counter.finish([1], at=200.0)] == [("zone_exit", 139.0)]
    totals = counter.totals()
    assert totals["lines"] == {"door": {"in": 1, "out": 0}}
    corner = totals["zones"]["corner"]
    assert (corner["entries"], corner["exits"], corner["inside"]) == (1, 1, 0)
    assert corner["dwell_avg"] == pytest.approx(corner["dwell_max"])
    entered = next(e.at for e in events if e.kind == "zone_enter")
    assert corner["dwell_max"] == pytest.approx(139.0 - entered)


def test_close_ends_the_run_for_everyone_inside() -> None:
    zone = ZoneSpec("all", ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)), min_frames=1)
    counter = Counter([], [zone], frame_size=(640, 480))
    for frame in range(3):
        counter.update([person(1, 100.0, 100.0), person(2, 300.0, 400.0)], at=float(frame))
    assert len(counter.close(at=2.0)) == 2
    assert counter.totals()["zones"]["all"] == {
        "entries": 2,
        "exits": 2,
        "inside": 0,
        "dwell_avg": 2.0,
        "dwell_max": 2.0,
    }


def test_totals_without_activity() -> None:
    counter = Counter([LineSpec("a", (0.0, 0.5), (1.0, 0.5))], [], frame_size=(640, 480))
    assert counter.totals() == {"lines": {"a": {"in": 0, "out": 0}}, "zones": {}}


def test_duplicate_names_are_refused() -> None:
    line = parse_line("door:0,0.5,1,0.5", 0)
    with pytest.raises(AnalyticsConfigError) as caught:
        Counter([line, line], [], frame_size=(640, 480))
    assert caught.value.field == "line" and "door" in str(caught.value)
    zone = parse_zone("z:0,0,1,0,1,1", 0)
    with pytest.raises(AnalyticsConfigError, match="zone: two zones"):
        Counter([], [zone, zone], frame_size=(640, 480))


def test_pixels_for_another_resolution_fail_when_the_counter_is_built() -> None:
    with pytest.raises(AnalyticsConfigError, match="outside the 640x480 frame"):
        Counter([parse_line("0,700,1280,700", 0)], [], frame_size=(640, 480))

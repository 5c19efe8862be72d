"""Line crossings: direction, once per crossing, dead band against jitter, segment ends, confirmed tracks."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from vtrack.analytics.counting.lines import LineCounter
from vtrack.analytics.counting.specs import LineSpec
from vtrack.analytics.types import CountEvent, Track

# A left-to-right line across the middle of a 640x480 frame, with a 10 px band each side.
DOOR = LineSpec("door", (100.0, 240.0), (500.0, 240.0), hysteresis=10.0).resolve(640, 480)


def person(track_id: int, x: float, y: float, confirmed: bool = True) -> Track:
    """A box whose bottom centre (the anchor) is at (x, y)."""
    return Track(track_id, (x - 20.0, y - 120.0, x + 20.0, y), 0.9, confirmed, 10)


def walk(counter: LineCounter, track_id: int, points: Iterable[tuple[float, float]]) -> list[CountEvent]:
    events: list[CountEvent] = []
    for frame, (x, y) in enumerate(points):
        events.extend(counter.update([person(track_id, x, y)], at=1000.0 + frame))
    return events


def test_walking_down_is_in_and_up_is_out_once_each() -> None:
    counter = LineCounter(DOOR)
    down = walk(counter, 1, [(300.0, y) for y in range(150, 350, 7)])
    assert [(e.kind, e.name, e.track_id, e.direction) for e in down] == [("line", "door", 1, "in")]
    assert down[0].point == pytest.approx((300.0, 240.0))
    up = walk(counter, 2, [(200.0, y) for y in range(350, 150, -7)])
    assert [e.direction for e in up] == ["out"]
    assert counter.counts == {"in": 1, "out": 1}


def test_a_line_drawn_downwards_counts_right_to_left_as_in() -> None:
    counter = LineCounter(LineSpec("v", (320.0, 50.0), (320.0, 450.0), hysteresis=5.0).resolve(640, 480))
    assert [e.direction for e in walk(counter, 1, [(x, 300.0) for x in range(400, 240, -10)])] == ["in"]
    assert [e.direction for e in walk(counter, 2, [(x, 300.0) for x in range(240, 400, 10)])] == ["out"]


def test_the_event_carries_the_time_of_the_frame_that_committed_it() -> None:
    counter = LineCounter(DOOR)
    events = walk(counter, 1, [(300.0, 200.0), (300.0, 235.0), (300.0, 245.0), (300.0, 255.0)])
    assert len(events) == 1 and events[0].at == 1003.0  # 255 is the first anchor beyond the band


def test_jitter_across_the_line_inside_the_band_never_counts() -> None:
    counter = LineCounter(DOOR)
    approach = [(300.0, float(y)) for y in range(180, 236, 5)]
    jitter = [(300.0 + i % 3, 240.0 + (9.0 if i % 2 else -9.0)) for i in range(60)]
    events = walk(counter, 1, approach + jitter + approach[::-1])
    assert events == []
    assert counter.counts == {"in": 0, "out": 0}


def test_lingering_on_the_line_then_going_through_counts_once_where_the_feet_crossed() -> None:
    counter = LineCounter(DOOR)
    path = [(150.0, 200.0), (150.0, 232.0)]
    path += [(150.0 + i * 5.0, 240.0 + (6.0 if i % 2 else -6.0)) for i in range(1, 20)]
    path += [(250.0, 246.0), (250.0, 262.0), (250.0, 300.0)]
    events = walk(counter, 1, path)
    assert [e.direction for e in events] == ["in"]
    crossing = events[0].point
    assert crossing is not None and crossing[1] == pytest.approx(240.0) and 240.0 < crossing[0] < 250.0


def test_passing_beyond_the_end_of_the_segment_does_not_count_but_changes_side() -> None:
    counter = LineCounter(DOOR)
    assert walk(counter, 1, [(560.0, y) for y in range(150, 350, 10)]) == []  # right of p2 = (500, 240)
    # Having gone around the end, coming back up through the segment is a real "out".
    assert [e.direction for e in walk(counter, 1, [(300.0, y) for y in range(340, 150, -10)])] == ["out"]


def test_a_diagonal_path_counts_where_it_crossed_not_where_the_anchor_ended() -> None:
    counter = LineCounter(DOOR)
    # Crosses y=240 at x=498 (inside the segment); the next anchor projects well beyond p2.
    events = walk(counter, 1, [(478.0, 220.0), (598.0, 340.0)])
    assert [e.direction for e in events] == ["in"]
    assert events[0].point == pytest.approx((498.0, 240.0))
    assert walk(counter, 2, [(560.0, 220.0), (640.0, 300.0)]) == []  # crosses at x=580, off the segment


def test_unconfirmed_tracks_never_count_nor_set_a_side() -> None:
    counter = LineCounter(DOOR)
    for frame, y in enumerate(range(150, 350, 10)):
        assert counter.update([person(1, 300.0, y, confirmed=False)], at=float(frame)) == []
    # Confirmed only once below the line: that is where it starts, not a crossing.
    assert counter.update([person(1, 300.0, 360.0)], at=50.0) == []
    assert counter.update([person(1, 300.0, 380.0)], at=51.0) == []
    assert counter.counts == {"in": 0, "out": 0}


def test_a_track_first_seen_in_the_band_takes_its_side_from_where_it_leaves() -> None:
    counter = LineCounter(DOOR)
    assert walk(counter, 1, [(300.0, 238.0), (300.0, 244.0), (300.0, 260.0), (300.0, 300.0)]) == []
    assert [e.direction for e in walk(counter, 1, [(300.0, 200.0)])] == ["out"]


def test_several_people_are_counted_independently() -> None:
    counter = LineCounter(DOOR)
    events: list[CountEvent] = []
    for frame in range(30):
        y_down, y_up = 150.0 + frame * 7, 350.0 - frame * 7
        tracks = [person(1, 200.0, y_down), person(2, 400.0, y_up), person(3, 300.0, y_down)]
        events.extend(counter.update(tracks, at=float(frame)))
    assert sorted((e.track_id, e.direction) for e in events) == [(1, "in"), (2, "out"), (3, "in")]
    assert counter.counts == {"in": 2, "out": 1}


def test_forgotten_tracks_start_over() -> None:
    counter = LineCounter(DOOR)
    walk(counter, 1, [(300.0, 150.0)])
    counter.forget(1)
    assert walk(counter, 1, [(300.0, 330.0)]) == []


def test_an_unresolved_spec_is_refused() -> None:
    with pytest.raises(ValueError, match="resolve"):
        LineCounter(LineSpec("door", (0.1, 0.5), (0.9, 0.5)))

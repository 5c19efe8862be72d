"""Zones: debounced entry and exit dated to the first frame of the change, dwell, finish and close."""

from __future__ import annotations

import pytest

from vtrack.analytics.counting.specs import ZoneSpec
from vtrack.analytics.counting.zones import ZoneCounter
from vtrack.analytics.types import CountEvent, Track

TILL = ZoneSpec("till", ((100.0, 100.0), (300.0, 100.0), (300.0, 300.0), (100.0, 300.0)), min_frames=3)
IN, OUT = (200.0, 200.0), (50.0, 200.0)


def person(track_id: int, anchor: tuple[float, float], confirmed: bool = True) -> Track:
    x, y = anchor
    return Track(track_id, (x - 15.0, y - 90.0, x + 15.0, y), 0.8, confirmed, 5)


def run(
    zone: ZoneCounter, track_id: int, anchors: list[tuple[float, float]], t0: float = 0.0
) -> list[CountEvent]:
    """One frame every 0.5 s starting at t0."""
    events: list[CountEvent] = []
    for i, anchor in enumerate(anchors):
        events.extend(zone.update([person(track_id, anchor)], at=t0 + i * 0.5))
    return events


def test_entry_and_exit_are_debounced_and_dated_to_the_first_frame_of_the_change() -> None:
    zone = ZoneCounter(TILL.resolve(640, 480))
    events = run(zone, 7, [OUT, OUT] + [IN] * 8 + [OUT] * 4)
    assert [(e.kind, e.name, e.track_id, e.at) for e in events] == [
        ("zone_enter", "till", 7, 1.0),
        ("zone_exit", "till", 7, 5.0),
    ]
    assert events[0].point == IN and events[1].point == OUT
    assert events[1].dwell_seconds == pytest.approx(4.0)
    assert (zone.entries, zone.exits, zone.inside()) == (1, 1, 0)
    assert zone.dwell_avg() == pytest.approx(4.0) and zone.dwell_max == pytest.approx(4.0)


def test_the_entry_is_reported_on_the_frame_that_confirms_it() -> None:
    zone = ZoneCounter(TILL.resolve(640, 480))
    assert run(zone, 1, [IN, IN]) == []
    assert zone.inside() == 0
    assert [e.kind for e in zone.update([person(1, IN)], at=1.0)] == ["zone_enter"]
    assert zone.inside() == 1


def test_flicker_at_the_edge_neither_enters_nor_leaves() -> None:
    zone = ZoneCounter(TILL.resolve(640, 480))
    assert run(zone, 1, [OUT, IN, IN, OUT, IN, IN, OUT, OUT, IN, IN, OUT]) == []
    inside = run(zone, 2, [IN, IN, IN, OUT, OUT, IN, OUT, IN, IN, OUT, OUT, IN])
    assert [e.kind for e in inside] == ["zone_enter"]
    assert zone.inside() == 1


def test_min_frames_one_reacts_at_once() -> None:
    zone = ZoneCounter(ZoneSpec("z", TILL.polygon, min_frames=1).resolve(640, 480))
    events = run(zone, 1, [OUT, IN, OUT])
    assert [(e.kind, e.at) for e in events] == [("zone_enter", 0.5), ("zone_exit", 1.0)]


def test_a_track_that_ends_inside_leaves_when_it_was_last_seen() -> None:
    zone = ZoneCounter(TILL.resolve(640, 480))
    run(zone, 1, [IN] * 6)  # entered at 0.0, last seen at 2.5
    events = zone.finish([1], at=40.0)  # the tracker gives up much later
    assert [(e.kind, e.at, e.dwell_seconds) for e in events] == [("zone_exit", 2.5, 2.5)]
    assert zone.inside() == 0
    assert zone.finish([1], at=41.0) == []  # forgotten


def test_a_track_that_ends_while_leaving_leaves_when_it_stepped_out() -> None:
    zone = ZoneCounter(TILL.resolve(640, 480))
    run(zone, 1, [IN] * 4 + [OUT, OUT])  # stepped out at 2.0, not yet debounced
    assert [(e.at, e.dwell_seconds) for e in zone.finish([1], at=9.0)] == [(2.0, 2.0)]


def test_a_track_that_ends_before_its_entry_is_confirmed_never_entered() -> None:
    zone = ZoneCounter(TILL.resolve(640, 480))
    run(zone, 1, [OUT, IN, IN])
    assert zone.finish([1, 99], at=5.0) == []
    assert zone.entries == 0


def test_close_lets_everyone_inside_leave() -> None:
    zone = ZoneCounter(TILL.resolve(640, 480))
    for frame in range(5):
        zone.update([person(1, IN), person(2, (150.0, 150.0)), person(3, OUT)], at=10.0 + frame)
    assert zone.inside() == 2
    events = zone.close(at=14.0)
    assert sorted((e.track_id, e.kind, e.at, e.dwell_seconds) for e in events) == [
        (1, "zone_exit", 14.0, 4.0),
        (2, "zone_exit", 14.0, 4.0),
    ]
    assert (zone.inside(), zone.exits) == (0, 2)


def test_unconfirmed_tracks_are_ignored() -> None:
    zone = ZoneCounter(TILL.resolve(640, 480))
    for frame in range(10):
        assert zone.update([person(1, IN, confirmed=False)], at=float(frame)) == []
    assert zone.inside() == 0 and zone.close(10.0) == []


def test_dwell_statistics_over_several_visits() -> None:
    zone = ZoneCounter(ZoneSpec("z", TILL.polygon, min_frames=1).resolve(640, 480))
    run(zone, 1, [IN, IN, OUT])  # 1.0 s
    run(zone, 2, [IN] * 7 + [OUT])  # 3.5 s
    assert zone.dwell_avg() == pytest.approx(2.25) and zone.dwell_max == pytest.approx(3.5)
    assert ZoneCounter(TILL.resolve(640, 480)).dwell_avg() is None


def test_an_unresolved_spec_is_refused() -> None:
    with pytest.raises(ValueError, match="resolve"):
        ZoneCounter(ZoneSpec("z", ((0.0, 0.0), (0.5, 0.0), (0.5, 0.5))))

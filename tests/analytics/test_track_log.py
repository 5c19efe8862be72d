"""TrackLog: one record per confirmed track, a sampled path, and attributes attached when it ends."""

from __future__ import annotations

from vtrack.analytics.track_log import TrackLog
from vtrack.analytics.types import Attributes, Track

T0 = 1_700_000_000.0


def person(track_id: int, x: float, y: float, *, confirmed: bool = True) -> Track:
    """A 40x100 box whose anchor (bottom centre) is (x, y)."""
    return Track(track_id, (x - 20, y - 100, x + 20, y), 0.9, confirmed, 0)


def test_unconfirmed_tracks_leave_no_record() -> None:
    log = TrackLog()
    log.observe([person(1, 100, 200, confirmed=False)], T0)
    assert len(log) == 0
    assert log.open_ids() == []
    assert log.finish([1], {}) == []
    assert log.finished_count == 0


def test_record_times_frames_and_sampled_path() -> None:
    log = TrackLog(sample_seconds=0.5, max_points=120)
    # 10 fps for 3 s, walking right 2 px per frame; confirmed only from the third frame on.
    for i in range(31):
        log.observe([person(7, 100 + 2 * i, 300, confirmed=i >= 2)], T0 + i / 10)
    assert log.open_ids() == [7]
    [record] = log.finish([7], {7: Attributes("female", 0.8, 31.0, 4)})
    assert record.track_id == 7
    assert record.first_seen == T0 + 0.2  # the first *confirmed* observation
    assert record.last_seen == T0 + 3.0
    assert record.frames == 29
    offsets = [p[0] for p in record.path]
    assert offsets[0] == 0.0
    assert record.path[0][1:] == (104.0, 300.0)  # the anchor at the first confirmed frame
    gaps = [b - a for a, b in zip(offsets, offsets[1:], strict=False)]
    assert all(0.5 - 1e-6 <= gap <= 0.6 + 1e-6 for gap in gaps), gaps
    assert 5 <= len(record.path) <= 6  # 2.8 s of confirmed life at one point per 0.5 s
    for offset, x, y in record.path:  # each point is where the person was at that moment
        assert x == round(104 + 20 * offset, 1)
        assert y == 300.0
    assert record.attributes == Attributes("female", 0.8, 31.0, 4)
    assert len(log) == 0
    assert log.finished_count == 1


def test_path_is_capped_but_frames_keep_counting() -> None:
    log = TrackLog(sample_seconds=0.1, max_points=5)
    for i in range(100):
        log.observe([person(1, 50, 50 + i)], T0 + i * 0.2)
    [record] = log.finish([1], {})
    assert len(record.path) == 5
    assert record.frames == 100
    assert record.last_seen == T0 + 99 * 0.2
    assert record.attributes == Attributes()  # no attributes given: "unknown"


def test_finish_only_the_named_tracks_and_skip_unknown_ids() -> None:
    log = TrackLog()
    log.observe([person(1, 10, 100), person(2, 200, 100), person(3, 300, 100)], T0)
    done = log.finish([2, 99], {2: Attributes("male", 0.9, None, 1)})
    assert [r.track_id for r in done] == [2]
    assert sorted(log.open_ids()) == [1, 3]
    assert len(log) == 2
    assert log.finished_count == 1
    log.observe([person(1, 12, 100)], T0 + 1)
    rest = log.finish(log.open_ids(), {})
    assert sorted(r.track_id for r in rest) == [1, 3]
    assert {r.track_id: r.frames for r in rest} == {1: 2, 3: 1}
    assert log.finished_count == 3

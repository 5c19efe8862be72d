"""ByteTracker on synthetic scenes scored with py-motmetrics, and its lifecycle rules one by one."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from tests.analytics.tracking.scenes import evaluate, walkers
from vtrack.analytics.errors import AnalyticsConfigError
from vtrack.analytics.tracking import ByteTracker, TrackerConfig
from vtrack.analytics.types import Detections, Track

NO_SECOND_STAGE = TrackerConfig(low_thresh=0.5)  # low band (0.5, 0.5] is empty: stage 2 switched off


def person(x: float, y: float = 300.0, w: float = 60.0, h: float = 150.0) -> list[float]:
    return [x, y, x + w, y + h]


def frame(*boxes: tuple[list[float], float]) -> Detections:
    if not boxes:
        return Detections.empty()
    return Detections.from_arrays([b for b, _ in boxes], [s for _, s in boxes])


def ids(tracks: list[Track], *, confirmed_only: bool = True) -> list[int]:
    return [t.track_id for t in tracks if t.confirmed or not confirmed_only]


# --- whole scenes, scored ------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_crossing_walkers_are_tracked_with_high_mota_and_few_switches(seed: int) -> None:
    """8 people crossing, 2 % jitter, 3 % missed boxes, clutter, occluded people scored 0.15-0.45."""
    scene = walkers(seed)
    full = evaluate(scene, ByteTracker().update)
    assert full["mota"] >= 0.9, full
    assert full["num_switches"] <= 2, full
    # The same scene without the low-score stage loses the occluded people: clearly more misses.
    plain = evaluate(scene, ByteTracker(NO_SECOND_STAGE).update)
    assert plain["num_misses"] > full["num_misses"] * 1.3, (full, plain)
    assert plain["mota"] < full["mota"] - 0.02, (full, plain)


def test_low_score_boxes_carry_a_person_through_occlusion_and_a_turn() -> None:
    """Walking right, then hidden (score 0.3) for 20 frames during which the person turns back."""
    truth: list[list[float]] = []
    x = 200.0
    for f in range(1, 81):
        truth.append(person(x))
        x += 4.0 if f <= 35 else -4.0
    detections = [frame((box, 0.3 if 31 <= f <= 50 else 0.85)) for f, box in enumerate(truth, start=1)]

    with_stage = ByteTracker()
    seen = [ids(with_stage.update(d)) for d in detections]
    assert seen == [[1]] * 80  # one identity, present in every frame

    without = ByteTracker(NO_SECOND_STAGE)
    seen = [ids(without.update(d)) for d in detections]
    assert all(s == [1] for s in seen[:30])
    assert all(s == [] for s in seen[30:51])  # lost while hidden (and an unconfirmed newborn at 51)
    assert all(s == [2] for s in seen[51:])  # and found again as someone else: an id switch


def test_track_boxes_follow_the_person_more_closely_than_noisy_detections() -> None:
    rng = np.random.default_rng(5)
    tracker = ByteTracker()
    det_err, track_err = [], []
    for f in range(120):
        true = np.array(person(100.0 + 3.0 * f, 300.0 + 0.5 * f))
        noisy = true + rng.normal(0.0, 3.0, 4)
        tracks = tracker.update(frame((noisy.tolist(), 0.9)))
        if f >= 10:
            det_err.append(np.abs(noisy - true).mean())
            track_err.append(np.abs(np.asarray(tracks[0].xyxy) - true).mean())
    assert np.mean(track_err) < 0.8 * np.mean(det_err)


# --- lifecycle -----------------------------------------------------------------------------------


def test_weak_boxes_never_start_tracks() -> None:
    tracker = ByteTracker()
    for _ in range(30):
        # 0.4 is "low" (stage 2 only); 0.55 is "high" but under new_track_thresh 0.6.
        assert tracker.update(frame((person(100), 0.4), (person(400), 0.55))) == []
    assert tracker.active_ids() == []


def test_first_frame_tracks_are_confirmed_later_ones_on_their_second_frame() -> None:
    tracker = ByteTracker()
    (a,) = tracker.update(frame((person(100), 0.9)))
    assert (a.track_id, a.confirmed, a.age_frames) == (1, True, 0)
    a, b = tracker.update(frame((person(102), 0.9), (person(500), 0.9)))
    assert (a.track_id, a.confirmed, a.age_frames) == (1, True, 1)
    assert (b.track_id, b.confirmed, b.age_frames) == (2, False, 0)
    a, b = tracker.update(frame((person(104), 0.9), (person(502), 0.9)))
    assert (b.track_id, b.confirmed, b.age_frames) == (2, True, 1)
    assert b.score == pytest.approx(0.9)
    assert a.anchor == pytest.approx((134.0, 450.0), abs=1.0)


def test_a_one_frame_blip_is_reported_unconfirmed_then_removed() -> None:
    tracker = ByteTracker()
    tracker.update(frame((person(100), 0.9)))
    tracks = tracker.update(frame((person(100), 0.9), (person(700), 0.95)))
    assert [(t.track_id, t.confirmed) for t in tracks] == [(1, True), (2, False)]
    assert tracker.take_removed() == []
    assert ids(tracker.update(frame((person(100), 0.9))), confirmed_only=False) == [1]
    assert tracker.take_removed() == [2]
    assert tracker.take_removed() == []  # drained
    assert tracker.active_ids() == [1]


@pytest.mark.parametrize(("frame_rate", "buffer"), [(30.0, 30), (15.0, 15), (60.0, 60), (25.0, 25)])
def test_a_lost_track_is_kept_for_the_buffer_then_removed(frame_rate: float, buffer: int) -> None:
    tracker = ByteTracker(frame_rate=frame_rate)
    for _ in range(10):
        tracker.update(frame((person(300), 0.9)))
    for f in range(11, 11 + buffer):
        assert tracker.update(Detections.empty()) == []  # lost tracks are not reported
        assert tracker.take_removed() == [], f
        assert tracker.active_ids() == [1]
    tracker.update(Detections.empty())  # frame 11 + buffer: unseen for buffer + 1 frames
    assert tracker.take_removed() == [1]
    assert tracker.active_ids() == []
    # The same place later is a new person with a new id.
    tracker.update(frame((person(300), 0.9)))
    assert ids(tracker.update(frame((person(300), 0.9)))) == [2]


def test_a_lost_track_seen_again_within_the_buffer_keeps_its_id() -> None:
    tracker = ByteTracker()
    for f in range(60):
        dets = Detections.empty() if 20 <= f < 40 else frame((person(100.0 + 3.0 * f), 0.9))
        tracks = tracker.update(dets)
        assert ids(tracks) == ([] if 20 <= f < 40 else [1])
    assert tracker.take_removed() == []


def test_a_newborn_duplicate_of_a_lost_track_gives_way_to_the_older_identity() -> None:
    """Reappearing ahead of its prediction, a person gets a new id; once the lost track's prediction
    catches up and overlaps the newborn (IoU > 0.85), the younger one is dropped and the old id returns."""
    tracker = ByteTracker()
    for f in range(20):
        tracker.update(frame((person(100.0 + 6.0 * f), 0.9)))  # id 1 walks right, last at x=214
    for _ in range(3):
        tracker.update(Detections.empty())
    stop = person(214.0 + 6.0 * 3 + 60.0)  # reappears 60 px ahead and stands still
    seen = [ids(tracker.update(frame((stop, 0.9)))) for _ in range(20)]
    removed = tracker.take_removed()
    assert seen[1] == [2]  # the newborn, confirmed on its second frame
    assert removed == [2]
    assert seen[-1] == [1]  # the old identity took its place
    assert 2 not in tracker.active_ids()


def test_ids_start_at_one_are_never_reused_and_each_ends_once() -> None:
    scene = walkers(11, people=12, frames=400)
    tracker = ByteTracker(TrackerConfig(track_buffer=10))
    reported: set[int] = set()
    removed: list[int] = []
    for dets in scene.detections:
        now = ids(tracker.update(dets), confirmed_only=False)
        assert not set(now) & set(removed), "a removed id came back"
        reported.update(now)
        removed += tracker.take_removed()
    assert len(removed) == len(set(removed))
    assert reported == set(range(1, max(reported) + 1))  # every birth is reported, none skipped
    assert reported == set(removed) | set(tracker.active_ids())
    assert not set(removed) & set(tracker.active_ids())
    assert len(removed) > 5  # the scene does exercise removals


def test_degenerate_boxes_are_ignored() -> None:
    tracker = ByteTracker()
    boxes = np.array([[10, 10, 10, 50], [10, 50, 40, 20], [np.nan, 0, 10, 10], [0, 0, 10, 10]])
    bad = Detections.from_arrays(boxes, [0.9, 0.9, 0.9, np.inf])  # zero width, upside down, NaN, inf
    assert tracker.update(bad) == []
    assert ids(tracker.update(frame((person(50), 0.9)))) == []  # frame 2: unconfirmed newborn
    assert tracker.update(Detections.empty()) == []


def test_defaults_are_bytetrack_reference_values() -> None:
    config = TrackerConfig()
    assert (config.track_thresh, config.low_thresh, config.new_track_thresh) == (0.5, 0.1, 0.6)
    assert (config.match_thresh, config.track_buffer) == (0.8, 30)
    assert ByteTracker(frame_rate=12.5).max_time_lost == 12


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"track_thresh": 1.5}, "track_thresh"),
        ({"low_thresh": -0.1}, "low_thresh"),
        ({"low_thresh": 0.7}, "low_thresh"),  # above track_thresh
        ({"new_track_thresh": float("nan")}, "new_track_thresh"),
        ({"match_thresh": True}, "match_thresh"),
        ({"track_buffer": -1}, "track_buffer"),
        ({"track_buffer": 2.5}, "track_buffer"),
    ],
)
def test_config_errors_name_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(AnalyticsConfigError) as exc:
        TrackerConfig(**kwargs)
    assert exc.value.field == field
    assert str(exc.value).startswith(f"{field}: ")


@pytest.mark.parametrize("rate", [0.0, -5.0, float("inf")])
def test_frame_rate_must_be_positive(rate: float) -> None:
    with pytest.raises(AnalyticsConfigError) as exc:
        ByteTracker(frame_rate=rate)
    assert exc.value.field == "frame_rate"


def test_a_thousand_frames_of_twenty_people_take_well_under_a_few_seconds() -> None:
    rng = np.random.default_rng(0)
    starts = rng.uniform([0, 0], [1100, 500], (20, 2))
    velocity = rng.uniform(-3, 3, (20, 2))
    frames = []
    for f in range(1000):
        xy = (starts + velocity * (f % 100)) + rng.normal(0, 1.5, (20, 2))
        frames.append(Detections.from_arrays(np.hstack([xy, xy + [50, 130]]), rng.uniform(0.2, 0.95, 20)))
    tracker = ByteTracker()
    began = time.perf_counter()
    for dets in frames:
        tracker.update(dets)
    elapsed = time.perf_counter() - began
    assert elapsed < 3.0, f"{elapsed:.2f} s for 1000 frames x 20 boxes"


def test_scene_scoring_can_fail() -> None:
    """The scorer is not blind: a tracker that renumbers everyone every frame scores badly."""
    scene = walkers(0, frames=60)
    counter = iter(range(1, 10**6))

    def renumbering(dets: Detections) -> list[Track]:
        tracks = []
        for x1, y1, x2, y2 in dets.xyxy.tolist():
            tracks.append(Track(next(counter), (x1, y1, x2, y2), 0.9, True, 0))
        return tracks

    result = evaluate(scene, renumbering)
    assert result["num_switches"] > 100
    assert result["mota"] < 0.5

"""Pipeline on synthetic detections: tracks, line crossings with direction, zone visits, finished tracks.

Two people walk in opposite directions across a horizontal door line on a 640x480 frame at 30 fps:
A (drawn red) walks down into a bench zone and stays until the end; B (drawn blue) walks up and vanishes,
so the tracker drops it after its lost-track buffer. The detections are handed to `process`, so no
detection model is involved; the frames are still real images, which the attribute voter crops.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from tests.analytics.classify.colour_model import build_colour_model
from vtrack.analytics.classify.onnx_model import OnnxAttributeModel
from vtrack.analytics.classify.voter import AttributeVoter
from vtrack.analytics.counting.specs import LineSpec, ZoneSpec
from vtrack.analytics.errors import AnalyticsConfigError
from vtrack.analytics.options import AnalysisOptions, build_pipeline
from vtrack.analytics.pipeline import Pipeline
from vtrack.analytics.track_log import TrackRecord
from vtrack.analytics.types import CountEvent, Detections, FrameInput

T0 = 1_700_000_000.0
FPS = 30.0
SIZE = (640, 480)
FRAMES = 100
WALK = 60  # frames both people walk; then A stands still in the zone and B is gone
OPTIONS = AnalysisOptions(
    detector="motion",
    lines=(LineSpec("door", (0, 240), (640, 240)),),  # left to right: walking down the picture is "in"
    zones=(ZoneSpec("bench", ((150, 300), (250, 300), (250, 470), (150, 470))),),
)


def anchor_a(i: int) -> tuple[float, float]:
    return 200.0, 100.0 + 5 * min(i, WALK - 1)


def anchor_b(i: int) -> tuple[float, float]:
    return 450.0, 400.0 - 5 * i


def box(anchor: tuple[float, float]) -> tuple[float, float, float, float]:
    x, y = anchor
    return (x - 20, y - 100, x + 20, y)


def scene(i: int) -> tuple[FrameInput, Detections]:
    image = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
    boxes = [box(anchor_a(i))]
    image[int(boxes[0][1]) : int(boxes[0][3]), int(boxes[0][0]) : int(boxes[0][2])] = (0, 0, 220)  # red
    if i < WALK:
        boxes.append(box(anchor_b(i)))
        image[int(boxes[1][1]) : int(boxes[1][3]), int(boxes[1][0]) : int(boxes[1][2])] = (220, 0, 0)  # blue
    detections = Detections.from_arrays(np.array(boxes), np.full(len(boxes), 0.9))
    return FrameInput(image, i, T0 + i / FPS, 0.0), detections


@dataclass
class Run:
    pipeline: Pipeline
    events: list[tuple[int, CountEvent, str]] = field(default_factory=list)  # (frame, event, gender then)
    finished: list[tuple[int, TrackRecord]] = field(default_factory=list)
    confirmed: dict[int, set[int]] = field(default_factory=dict)  # frame -> confirmed ids
    close_events: list[CountEvent] = field(default_factory=list)
    closed: list[TrackRecord] = field(default_factory=list)


def run_scene(voter: AttributeVoter | None = None) -> Run:
    run = Run(build_pipeline(OPTIONS, None, SIZE, FPS, voter=voter))
    for i in range(FRAMES):
        frame, detections = scene(i)
        result = run.pipeline.process(frame, detections)
        assert result.frame is frame
        assert result.detections is detections
        run.confirmed[i] = {t.track_id for t in result.tracks if t.confirmed}
        run.events += [(i, e, result.genders[e.track_id]) for e in result.events]
        run.finished += [(i, r) for r in result.finished]
    run.close_events, run.closed = run.pipeline.close(T0 + (FRAMES - 1) / FPS)
    return run


@pytest.fixture(scope="module")
def plain() -> Run:
    return run_scene()


def test_both_people_are_tracked_from_the_first_frame(plain: Run) -> None:
    assert plain.confirmed[0] == {1, 2}  # first-frame boxes start confirmed tracks
    assert all(plain.confirmed[i] == {1, 2} for i in range(WALK))
    assert all(plain.confirmed[i] == {1} for i in range(WALK, FRAMES))
    assert plain.pipeline.frames == FRAMES
    assert plain.pipeline.detections == 2 * WALK + (FRAMES - WALK)


def test_each_crossing_is_one_event_with_its_direction(plain: Run) -> None:
    crossings = [(i, e) for i, e, _ in plain.events if e.kind == "line"]
    assert [(e.name, e.track_id, e.direction) for _, e in crossings] == [
        ("door", 1, "in"),
        ("door", 2, "out"),
    ]
    # The hysteresis band is 16 px (2 % of the diagonal): A commits below y=256 (frame 32), B above y=224
    # (frame 36). The tracker's smoothed boxes may lag the detections by a frame.
    (frame_a, event_a), (frame_b, event_b) = crossings
    assert 32 <= frame_a <= 34 and event_a.at == T0 + frame_a / FPS
    assert 36 <= frame_b <= 38 and event_b.at == T0 + frame_b / FPS
    assert event_a.point == pytest.approx((200.0, 240.0), abs=1)  # where the path met the line


def test_zone_entry_dated_to_the_first_frame_inside(plain: Run) -> None:
    entries = [(i, e) for i, e, _ in plain.events if e.kind == "zone_enter"]
    assert len(entries) == 1
    frame, entry = entries[0]
    assert (entry.name, entry.track_id) == ("bench", 1)
    # A's anchor passes y=300 at frame 41; the entry is reported after min_frames (3) frames inside.
    first_inside = round((entry.at - T0) * FPS)
    assert 41 <= first_inside <= 42
    assert frame == first_inside + 2
    assert not [e for _, e, _ in plain.events if e.kind == "zone_exit"]  # A never left before the end


def test_dropped_track_is_finished_with_a_sampled_path(plain: Run) -> None:
    assert len(plain.finished) == 1
    frame, record = plain.finished[0]
    assert record.track_id == 2
    assert frame == WALK + 30  # 30 frames of lost-track buffer at 30 fps, then it is dropped
    assert record.first_seen == T0
    assert record.last_seen == T0 + (WALK - 1) / FPS
    assert record.frames == WALK
    assert record.attributes.gender == "unknown"  # no attribute model
    offsets = [p[0] for p in record.path]
    assert offsets == [0.0, 0.5, 1.0, 1.5]  # one point per 0.5 s over ~2 s
    for offset, x, y in record.path:
        expected_y = 400.0 - 5 * offset * FPS
        assert x == pytest.approx(450.0, abs=2) and y == pytest.approx(expected_y, abs=3)


def test_close_ends_the_zone_visit_and_the_open_track(plain: Run) -> None:
    [exit_event] = plain.close_events
    assert (exit_event.kind, exit_event.name, exit_event.track_id) == ("zone_exit", "bench", 1)
    entry = next(e for _, e, _ in plain.events if e.kind == "zone_enter")
    assert exit_event.at == T0 + (FRAMES - 1) / FPS  # last seen inside = the last frame
    assert exit_event.dwell_seconds == pytest.approx(exit_event.at - entry.at)
    [record] = plain.closed
    assert (record.track_id, record.frames, record.first_seen) == (1, FRAMES, T0)
    totals = plain.pipeline.totals()
    assert totals["lines"] == {"door": {"in": 1, "out": 1}}
    bench = totals["zones"]["bench"]
    assert (bench["entries"], bench["exits"], bench["inside"]) == (1, 1, 0)
    assert bench["dwell_avg"] == pytest.approx(exit_event.dwell_seconds)
    assert totals["tracks"] == 2
    assert len(plain.pipeline.log) == 0


def test_genders_follow_the_votes_so_far_and_finished_tracks_carry_them(tmp_path: Path) -> None:
    model = OnnxAttributeModel(build_colour_model(tmp_path / "colour.onnx"))
    run = run_scene(AttributeVoter(model, votes=3, interval_frames=5))
    crossings = {e.track_id: gender for _, e, gender in run.events if e.kind == "line"}
    assert crossings == {1: "male", 2: "female"}  # red A, blue B; both had votes before crossing
    [(_, dropped)] = run.finished
    assert (dropped.track_id, dropped.attributes.gender, dropped.attributes.votes) == (2, "female", 3)
    [closed] = run.closed
    assert (closed.track_id, closed.attributes.gender) == (1, "male")
    assert closed.attributes.gender_confidence > 0.9


def test_process_without_detections_uses_the_detector() -> None:
    detector = OPTIONS.build_detector()  # motion: needs no model
    pipeline = build_pipeline(OPTIONS, detector, SIZE, FPS)
    seen: set[int] = set()
    for i in range(40):
        image = np.full((SIZE[1], SIZE[0], 3), 40, np.uint8)
        x = 50 + 8 * i
        image[200:330, x : x + 50] = 230
        result = pipeline.process(FrameInput(image, i, T0 + i / FPS, 0.0))
        seen |= {t.track_id for t in result.tracks if t.confirmed}
    detector.close()
    assert pipeline.detections > 0
    assert len(seen) >= 1


def test_a_pipeline_without_detector_needs_detections() -> None:
    pipeline = build_pipeline(OPTIONS, None, SIZE, FPS)
    frame, _ = scene(0)
    with pytest.raises(RuntimeError, match="detections from outside"):
        pipeline.process(frame)


def test_options_validate_stride_and_describe_themselves_for_the_run_row() -> None:
    with pytest.raises(AnalyticsConfigError) as caught:
        AnalysisOptions(stride=0)
    assert caught.value.field == "stride"
    config = json.loads(json.dumps(OPTIONS.to_dict()))  # stored in a JSON column
    assert config["detector"] == "motion" and config["model"] is None and config["stride"] == 1
    assert config["input_size"] == [416, 416] and config["tracker"]["track_buffer"] == 30
    assert [LineSpec.from_dict(d, i) for i, d in enumerate(config["lines"])] == list(OPTIONS.lines)
    assert [ZoneSpec.from_dict(d, i) for i, d in enumerate(config["zones"])] == list(OPTIONS.zones)

"""MOTChallenge detections in, tracks out: parsing, errors naming the line, atomic result files."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import motmetrics as mm  # type: ignore[import-untyped]  # no type information
import numpy as np
import pytest

from vtrack.analytics.errors import AnalyticsConfigError
from vtrack.analytics.tracking import ByteTracker, MotWriter, read_mot_detections
from vtrack.analytics.types import Detections, Track

DET_TXT = """\
# a comment line
1,-1,794.2,47.5,71.2,174.8,67.5,-1,-1,-1
1,-1,164.1,19.6,66.5,163.2,29.4,-1,-1,-1

3,-1,781.7,25.1,69.2,170.2,58.1,-1,-1,-1
"""


def test_reads_det_txt_into_per_frame_detections(tmp_path: Path) -> None:
    path = tmp_path / "det.txt"
    path.write_text(DET_TXT)
    frames = read_mot_detections(path)
    assert list(frames) == [1, 3]  # frame 2 has no rows: absent
    first = frames[1]
    assert len(first) == 2
    np.testing.assert_allclose(first.xyxy[0], [794.2, 47.5, 794.2 + 71.2, 47.5 + 174.8], rtol=1e-6)
    np.testing.assert_allclose(first.scores, [67.5, 29.4])  # kept as given: MOT17 DPM scores are not 0..1
    assert first.class_ids.tolist() == [0, 0]
    assert first.xyxy.dtype == np.float32


def test_reads_the_minimal_seven_column_form(tmp_path: Path) -> None:
    path = tmp_path / "det.txt"
    path.write_text("2,7,1,2,3,4,0.5\n")
    frames = read_mot_detections(str(path))
    np.testing.assert_allclose(frames[2].xyxy, [[1, 2, 4, 6]])


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("1,-1,10,20,30", "at least 7"),
        ("1,-1,10,abc,30,40,0.9", "not a number"),
        ("0,-1,10,20,30,40,0.9", "frame must be"),
        ("1.5,-1,10,20,30,40,0.9", "frame must be"),
        ("1,-1,10,20,0,40,0.9", "width and height"),
        ("1,-1,10,20,30,-4,0.9", "width and height"),
        ("1,-1,10,20,30,40,nan", "finite"),
    ],
)
def test_bad_rows_are_errors_naming_the_line(tmp_path: Path, row: str, problem: str) -> None:
    path = tmp_path / "det.txt"
    path.write_text("1,-1,10,20,30,40,0.9\n\n" + row + "\n")
    with pytest.raises(AnalyticsConfigError) as exc:
        read_mot_detections(path)
    assert exc.value.field == "detections"
    assert exc.value.message.startswith("line 3: ")
    assert problem in exc.value.message


def test_missing_file_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(AnalyticsConfigError) as exc:
        read_mot_detections(tmp_path / "nope.txt")
    assert exc.value.field == "detections"
    assert "nope.txt" in exc.value.message


def track(track_id: int, xyxy: tuple[float, float, float, float], confirmed: bool = True) -> Track:
    return Track(track_id=track_id, xyxy=xyxy, score=0.87654, confirmed=confirmed, age_frames=3)


def test_writer_writes_confirmed_tracks_as_mot_rows(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    with MotWriter(path) as writer:
        writer.write(1, [track(1, (10.0, 20.0, 40.5, 100.25)), track(2, (0, 0, 5, 5), confirmed=False)])
        writer.write(2, [])
        writer.write(3, [track(1, (12.0, 20.0, 42.5, 100.25))])
    assert writer.rows == 2
    assert path.read_text().splitlines() == [
        "1,1,10.00,20.00,30.50,80.25,0.8765,-1,-1,-1",
        "3,1,12.00,20.00,30.50,80.25,0.8765,-1,-1,-1",
    ]
    # Standard tools read it: py-motmetrics' MOT loader (which moves x, y by its 1-based convention).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas 3 deprecation inside motmetrics 1.4
        frame = mm.io.loadtxt(str(path), fmt="mot15-2D")
    assert frame.index.tolist() == [(1, 1), (3, 1)]
    assert frame["Width"].tolist() == [30.5, 30.5]


def test_tracks_round_trip_through_writer_and_reader(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    tracker = ByteTracker()
    expected: dict[int, list[Track]] = {}
    path = tmp_path / "tracks.txt"
    with MotWriter(path) as writer:
        for f in range(1, 31):
            xy = np.array([[100.0, 200.0], [600.0, 250.0]]) + f * np.array([3.0, 0.5])
            boxes = np.hstack([xy, xy + [50, 140]]) + rng.normal(0, 1, (2, 4))
            dets = Detections.from_arrays(boxes, [0.9, 0.8])
            tracks = tracker.update(dets)
            writer.write(f, tracks)
            expected[f] = [t for t in tracks if t.confirmed]
    back = read_mot_detections(path)
    assert sorted(back) == [f for f in expected if expected[f]]
    for f, tracks in expected.items():
        if not tracks:
            continue
        np.testing.assert_allclose(back[f].xyxy, [t.xyxy for t in tracks], atol=0.01)
        np.testing.assert_allclose(back[f].scores, [t.score for t in tracks], atol=1e-4)
    ids = {int(line.split(",")[1]) for line in path.read_text().splitlines()}
    assert ids == {1, 2}


def test_result_appears_only_when_closed(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    writer = MotWriter(path)
    writer.write(1, [track(1, (1, 2, 3, 4))])
    assert not path.exists()
    hidden = [p.name for p in tmp_path.iterdir()]
    assert len(hidden) == 1 and hidden[0].startswith(".out.txt.") and hidden[0].endswith(".tmp")
    writer.close()
    assert path.read_text().startswith("1,1,1.00,2.00,2.00,2.00,")
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
    writer.close()  # idempotent
    with pytest.raises(ValueError, match="closed"):
        writer.write(2, [])


def test_a_failed_run_leaves_the_previous_result_and_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    path.write_text("previous\n")
    with pytest.raises(RuntimeError), MotWriter(path) as writer:
        writer.write(1, [track(1, (1, 2, 3, 4))])
        raise RuntimeError("decoder died")
    assert path.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_result_file_gets_ordinary_permissions(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    with MotWriter(path):
        pass
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_frame_numbers_are_one_based(tmp_path: Path) -> None:
    with MotWriter(tmp_path / "out.txt") as writer, pytest.raises(ValueError, match="start at 1"):
        writer.write(0, [])

"""`vtrack analyze`: JSON summary, the saved run, --no-save, and clear errors that leave nothing behind.

Fast tests track a MOT detections file on a small clip the test encodes; one runs YOLOX on the shared
people clip when it is there.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from tests.analytics.test_file_run import CLIP_FRAMES, LINES, ZONES, write_clip, write_walkers
from tests.shared_data import PEOPLE_VIDEO, YOLOX_NANO
from vtrack.cli import app

ENV = {"NO_COLOR": "1", "COLUMNS": "200", "TERM": "dumb"}


@pytest.fixture(autouse=True)
def clean_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No VTRACK_* settings or vtrack.toml of the machine running the tests leak in."""
    for name in [n for n in os.environ if n.startswith("VTRACK_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return write_clip(tmp_path / "clip.mp4")


@pytest.fixture
def detections(tmp_path: Path) -> Path:
    return write_walkers(tmp_path / "det.txt")


def analyze(*args: str | Path) -> Result:
    return CliRunner().invoke(app, ["analyze", *map(str, args)], env=ENV)


def counting_args() -> list[str]:
    return [
        *(a for text in LINES for a in ("--line", text)),
        *(a for text in ZONES for a in ("--zone", text)),
    ]


def test_json_summary_and_the_saved_run(clip: Path, detections: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    mot_out = tmp_path / "tracks.txt"
    args: list[str | Path] = [clip, "--detections", detections, *counting_args(), "--mot-out", mot_out]
    args += ["--data-dir", data]
    result = analyze(*args, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["frames_in"], summary["frames_processed"], summary["tracks"]) == (
        CLIP_FRAMES,
        CLIP_FRAMES,
        2,
    )
    assert summary["lines"] == {"door": {"in": 1, "out": 1}}
    assert (summary["zones"]["spot"]["entries"], summary["zones"]["spot"]["exits"]) == (1, 1)
    assert summary["source"] == str(clip.absolute())
    assert mot_out.read_text().startswith("1,1,")
    with sqlite3.connect(data / "vtrack.db") as db:
        runs = db.execute("SELECT id, kind, status, summary FROM analytics_runs").fetchall()
        events = db.execute("SELECT count(*) FROM analytics_events").fetchone()[0]
    assert [(r[0], r[1], r[2]) for r in runs] == [(summary["run_id"], "file", "finished")]
    assert json.loads(runs[0][3])["tracks"] == 2
    assert events == 4


def test_no_save_writes_no_database(clip: Path, detections: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = analyze(
        clip, "--detections", detections, *counting_args(), "--json", "--no-save", "--data-dir", data
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["run_id"] is None
    assert not data.exists()


def test_human_readable_summary(clip: Path, detections: Path, tmp_path: Path) -> None:
    result = analyze(clip, "--detections", detections, *counting_args(), "--no-save")
    assert result.exit_code == 0, result.output
    assert f"{CLIP_FRAMES} frames analysed" in result.stdout and "2 people tracked" in result.stdout
    door = next(line for line in result.stdout.splitlines() if "door" in line)
    assert [cell.strip() for cell in door.split("│")[1:5]] == ["door", "1", "1", ""], door
    spot = next(line for line in result.stdout.splitlines() if "spot" in line)
    assert [cell.strip() for cell in spot.split("│")[1:4]] == ["spot", "1", "1"], spot


BAD = {
    "line": (["--line", "1,2,3"], "--line"),
    "zone": (["--zone", "0,0,1,1"], "--zone"),
    "input size": (["--input-size", "abc"], "--input-size"),
    "input size not a multiple of 32": (["--input-size", "400"], "--input-size"),
    "detections": (["--detections", "{bad_mot}"], "--detections"),
    "mot out": (["--detections", "{det}", "--mot-out", "{tmp}/nowhere/tracks.txt"], "--mot-out"),
    "missing model": (["--model", "{tmp}/missing.onnx"], "--model"),
    "no model": ([], "--model"),
    "detector": (["--detector", "sonar"], "--detector"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_options_are_named_and_leave_nothing_behind(
    case: str, clip: Path, detections: Path, tmp_path: Path
) -> None:
    bad_mot = tmp_path / "bad.txt"
    bad_mot.write_text("1,-1,10,10,5,5,0.9\n2,-1,10,10,-5,5,0.9\n")
    options, name = BAD[case]
    args = [a.format(tmp=tmp_path, det=detections, bad_mot=bad_mot) for a in options]
    if "--mot-out" not in args:
        args += ["--mot-out", str(tmp_path / "tracks.txt")]
    data = tmp_path / "data"
    result = analyze(clip, *args, "--json", "--data-dir", data)
    assert result.exit_code == 2, result.output
    assert name in result.stderr, result.stderr
    assert "Traceback" not in result.output and result.stdout == ""
    assert not [p for p in tmp_path.rglob("*") if "tracks" in p.name]  # no MOT file, nor its temp file
    if (data / "vtrack.db").exists():
        with sqlite3.connect(data / "vtrack.db") as db:
            assert db.execute("SELECT count(*) FROM analytics_runs").fetchone()[0] == 0


@pytest.mark.parametrize("source", ["missing.mp4", "notes.json"])
def test_bad_source_is_named(source: str, tmp_path: Path) -> None:
    (tmp_path / "notes.json").write_text('{"not": "a video"}')
    result = analyze(tmp_path / source, "--no-save")
    assert result.exit_code == 2, result.output
    assert "SOURCE" in result.stderr and source in result.stderr
    assert "--source" not in result.stderr


@pytest.mark.skipif(
    not (PEOPLE_VIDEO.is_file() and YOLOX_NANO.is_file()),
    reason=f"shared clip/model not found ({PEOPLE_VIDEO}, {YOLOX_NANO})",
)
def test_real_clip_with_yolox() -> None:
    result = analyze(
        PEOPLE_VIDEO, "--model", YOLOX_NANO, "--stride", "5", "--threads", "2", "--line", "door:0,0.5,1,0.5",
        "--json", "--no-save",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    frames = summary["frames_in"]
    assert frames > 300 and summary["frames_processed"] == (frames + 4) // 5
    assert summary["tracks"] >= 3
    assert set(summary["lines"]) == {"door"}
    assert summary["run_id"] is None

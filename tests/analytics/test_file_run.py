"""File runs: decode -> pipeline -> database rows and MOT output, with interruptions and failures.

Most tests track MOT detections on a small clip the test encodes itself (fast, no shared data); one
module-scoped run of YOLOX on the shared people clip checks the whole path on real video.
"""

from __future__ import annotations

import asyncio
import collections
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
import pytest_asyncio
from sqlalchemy import func, select

from tests.shared_data import PEOPLE_VIDEO, YOLOX_NANO
from vtrack.analytics.counting.specs import parse_line, parse_zone
from vtrack.analytics.detectors.base import DetectorConfig
from vtrack.analytics.errors import AnalyticsConfigError
from vtrack.analytics.file_run import FileAnalysis, analyze_file, file_frames, probe_file
from vtrack.analytics.options import AnalysisOptions
from vtrack.analytics.tracking.mot import read_mot_detections
from vtrack.db.migrate import upgrade
from vtrack.db.models import AnalyticsCount, AnalyticsEvent, AnalyticsRun, AnalyticsTrack
from vtrack.db.session import Database

CLIP_FRAMES = 40
CLIP_FPS = 25
CLIP_SIZE = (320, 240)
LINES = ("door:0,0.5,1,0.5",)  # y = 120 px on the clip, drawn left to right: walking down is "in"
ZONES = ("spot:0.1,0.6,0.5,0.6,0.5,1,0.1,1",)  # x 32..160, y 144..240


def write_clip(path: Path, frames: int = CLIP_FRAMES) -> Path:
    """A small MPEG-4 clip with a moving bright block (the detections come from a MOT file, not from it)."""
    width, height = CLIP_SIZE
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=CLIP_FPS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            image = np.full((height, width, 3), 60, np.uint8)
            image[100:160, 10 + 5 * i : 40 + 5 * i] = 200
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def write_raw_h264(path: Path, frames: int = 12) -> Path:
    """An elementary H.264 stream: no container, so its frames carry no timestamps at all."""
    with av.open(str(path), "w", format="h264") as out:
        stream = out.add_stream("libx264", rate=CLIP_FPS, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(frames):
            image = np.full((48, 64, 3), 10 * i, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def write_walkers(path: Path, frames: int = CLIP_FRAMES) -> Path:
    """MOT det.txt: A walks down across the door into the spot and stays; B walks up across the door."""
    rows = []
    for i in range(frames):
        ax, ay = 100, 40 + 5 * i
        rows.append(f"{i + 1},-1,{ax - 15},{ay - 60},30,60,0.9,-1,-1,-1")
        if i < 34:
            bx, by = 250, 230 - 5 * i
            rows.append(f"{i + 1},-1,{bx - 15},{by - 60},30,60,0.85,-1,-1,-1")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


needs_shared_clip = pytest.mark.skipif(
    not PEOPLE_VIDEO.is_file(), reason=f"shared clip not found: {PEOPLE_VIDEO}"
)


def clip_options(**changes: Any) -> AnalysisOptions:
    values: dict[str, Any] = {
        "detector": "motion",
        "lines": tuple(parse_line(t, i) for i, t in enumerate(LINES)),
        "zones": tuple(parse_zone(t, i) for i, t in enumerate(ZONES)),
    }
    values.update(changes)
    return AnalysisOptions(**values)


def mot_ids(path: Path) -> dict[int, list[int]]:
    """Track id -> the frames it was written for."""
    ids: dict[int, list[int]] = collections.defaultdict(list)
    for row in path.read_text().splitlines():
        frame, track_id = row.split(",")[:2]
        ids[int(track_id)].append(int(frame))
    return ids


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


async def table_count(database: Database, model: Any, run_id: str) -> int:
    async with database.session() as session:
        return int(
            await session.scalar(select(func.count()).select_from(model).where(model.run_id == run_id)) or 0
        )


async def run_row(database: Database, run_id: str) -> AnalyticsRun:
    async with database.session() as session:
        run = await session.get(AnalyticsRun, run_id)
    assert run is not None
    return run


async def check_rows_match_summary(database: Database, summary: dict[str, Any]) -> None:
    """The stored run agrees with the summary: events, tracks and the roll-up sums."""
    run_id = summary["run_id"]
    run = await run_row(database, run_id)
    assert run.status == "finished" and run.error is None and run.ended_at is not None
    lines, zones = summary["lines"], summary["zones"]
    crossings = sum(c["in"] + c["out"] for c in lines.values())
    visits = sum(z["entries"] + z["exits"] for z in zones.values())
    events = await table_count(database, AnalyticsEvent, run_id)
    tracks = await table_count(database, AnalyticsTrack, run_id)
    assert events == crossings + visits
    assert tracks == summary["tracks"]
    assert run.summary == {**summary, "events_written": events, "tracks_written": tracks}
    async with database.session() as session:
        counts = (await session.scalars(select(AnalyticsCount).where(AnalyticsCount.run_id == run_id))).all()
    for name, c in lines.items():
        rows = [r for r in counts if (r.kind, r.name) == ("line", name)]
        assert (sum(r.in_count for r in rows), sum(r.out_count for r in rows)) == (c["in"], c["out"])
    for name, z in zones.items():
        rows = [r for r in counts if (r.kind, r.name) == ("zone", name)]
        assert (sum(r.in_count for r in rows), sum(r.out_count for r in rows)) == (z["entries"], z["exits"])
        dwell = sum(r.dwell_total for r in rows)
        assert dwell == pytest.approx((z["dwell_avg"] or 0.0) * z["exits"], abs=1e-3)


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return write_clip(tmp_path / "clip.mp4")


@pytest.fixture
def walkers(tmp_path: Path) -> Path:
    return write_walkers(tmp_path / "det.txt")


def test_probe_file(clip: Path, tmp_path: Path) -> None:
    info = probe_file(clip)
    assert (info.width, info.height, info.fps, info.frames) == (320, 240, 25.0, CLIP_FRAMES)
    empty = tmp_path / "empty.mp4"
    empty.touch()
    data = tmp_path / "data.json"
    data.write_text('{"not": "a video"}')
    for bad in (empty, data, tmp_path / "missing.mp4"):
        with pytest.raises(AnalyticsConfigError) as caught:
            probe_file(bad)
        assert caught.value.field == "source" and str(bad) in str(caught.value)


def test_frames_are_stamped_with_the_videos_own_clock(clip: Path, tmp_path: Path) -> None:
    frames = list(file_frames(clip, 1000.0))
    assert [f.index for f in frames] == list(range(CLIP_FRAMES))
    assert [f.captured_at - 1000.0 for f in frames] == pytest.approx(
        [i / CLIP_FPS for i in range(CLIP_FRAMES)]
    )
    assert frames[0].image.shape == (240, 320, 3)
    # Without timestamps in the stream, frames are still one frame interval apart (not all at the start).
    raw = [f.captured_at for f in file_frames(write_raw_h264(tmp_path / "raw.h264"), 1000.0)]
    assert raw == pytest.approx([1000.0 + i / CLIP_FPS for i in range(12)])


@needs_shared_clip
def test_frames_of_an_avi_with_b_frames_move_forward() -> None:
    # This AVI holds decode timestamps only: the decoder returns its frames in display order labelled
    # with shuffled times (0.04, 0.12, ..., 0.24, 0.08, ...).
    stamps = [f.captured_at for f in file_frames(PEOPLE_VIDEO, 0.0)]
    steps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    assert all(0 < step <= 0.08 + 1e-6 for step in steps), sorted(steps)[:3]
    assert stamps[-1] == pytest.approx((len(stamps) - 1) / 25, abs=0.1)


async def test_mot_detections_to_database_and_mot_file(
    database: Database, clip: Path, walkers: Path, tmp_path: Path
) -> None:
    progress: list[tuple[int, int | None]] = []
    mot_out = tmp_path / "tracks.txt"
    summary = await analyze_file(
        clip,
        clip_options(),
        database=database,
        detections=read_mot_detections(walkers),
        mot_out=mot_out,
        progress=lambda done, total: progress.append((done, total)),
    )
    assert summary["source"] == str(clip.absolute())
    assert (summary["frames_in"], summary["frames_processed"]) == (CLIP_FRAMES, CLIP_FRAMES)
    assert summary["processed_fps"] > 0
    assert 0 <= summary["latency_p50_ms"] <= summary["latency_p95_ms"]
    assert summary["lines"] == {"door": {"in": 1, "out": 1}}
    spot = summary["zones"]["spot"]
    assert (spot["entries"], spot["exits"], spot["inside"]) == (1, 1, 0)
    assert summary["tracks"] == 2
    assert progress[0] == (1, CLIP_FRAMES) and progress[-1] == (CLIP_FRAMES, CLIP_FRAMES)
    await check_rows_match_summary(database, summary)

    run = await run_row(database, summary["run_id"])
    assert (run.kind, run.source, run.config["detector"], run.config["lines"][0]["name"]) == (
        "file",
        str(clip.absolute()),
        "motion",
        "door",
    )
    # Event times follow the video's own clock from the run's start.
    async with database.session() as session:
        events = (await session.scalars(select(AnalyticsEvent).order_by(AnalyticsEvent.at))).all()
    span = (events[-1].at - run.started_at).total_seconds()
    assert 0 <= span <= CLIP_FRAMES / CLIP_FPS + 1
    assert {e.kind for e in events} == {"line", "zone_enter", "zone_exit"}

    ids = mot_ids(mot_out)
    assert sorted(ids) == [1, 2]
    assert ids[1] == list(range(1, CLIP_FRAMES + 1))  # both confirmed from the first frame
    assert ids[2] == list(range(1, 35))
    assert leftovers(tmp_path) == []
    assert len(read_mot_detections(mot_out)) == CLIP_FRAMES


def test_stride_analyses_every_nth_frame(clip: Path, walkers: Path, tmp_path: Path) -> None:
    mot_out = tmp_path / "tracks.txt"
    analysis = FileAnalysis(
        clip, clip_options(stride=2), detections=read_mot_detections(walkers), mot_out=mot_out
    )
    summary = analysis.run()
    assert (summary["frames_in"], summary["frames_processed"]) == (CLIP_FRAMES, CLIP_FRAMES // 2)
    assert summary["lines"] == {"door": {"in": 1, "out": 1}}
    assert mot_ids(mot_out)[1] == list(range(1, CLIP_FRAMES + 1, 2))  # 1-based numbers of frames 0, 2, 4...


def test_a_stopped_run_leaves_no_mot_file(clip: Path, walkers: Path, tmp_path: Path) -> None:
    mot_out = tmp_path / "tracks.txt"
    stop = threading.Event()

    def progress(done: int, _total: int | None) -> None:
        if done == 10:
            stop.set()

    analysis = FileAnalysis(
        clip,
        clip_options(),
        detections=read_mot_detections(walkers),
        mot_out=mot_out,
        progress=progress,
        stop=stop,
    )
    summary = analysis.run()
    assert summary["frames_processed"] == 10  # the stop is seen before the next frame
    assert not mot_out.exists(), "a stopped run must not publish a partial MOT file"
    assert leftovers(tmp_path) == []


async def test_a_cancelled_run_is_marked_interrupted(
    database: Database, clip: Path, walkers: Path, tmp_path: Path
) -> None:
    mot_out = tmp_path / "tracks.txt"
    loop = asyncio.get_running_loop()
    cancel_now = asyncio.Event()

    def progress(done: int, _total: int | None) -> None:
        if done == 30:  # A is inside the spot by now
            loop.call_soon_threadsafe(cancel_now.set)
        threading.Event().wait(0.01)  # slow the run down so it is still going when cancelled

    task = asyncio.create_task(
        analyze_file(
            clip,
            clip_options(),
            database=database,
            detections=read_mot_detections(walkers),
            mot_out=mot_out,
            progress=progress,
        )
    )
    await asyncio.wait_for(cancel_now.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with database.session() as session:
        [run] = (await session.scalars(select(AnalyticsRun))).all()
        kinds = (await session.scalars(select(AnalyticsEvent.kind))).all()
        tracks = await table_count(database, AnalyticsTrack, run.id)
    assert run.status == "interrupted" and run.ended_at is not None and run.error is None
    summary = run.summary
    assert 30 <= summary["frames_in"] < CLIP_FRAMES
    # The summary is taken once the worker has stopped: the visit in progress is closed, and what is
    # stored agrees with it.
    spot = summary["zones"]["spot"]
    assert (spot["entries"], spot["exits"], spot["inside"]) == (1, 1, 0)
    assert sorted(kinds).count("zone_exit") == 1
    assert tracks == summary["tracks"] == summary["tracks_written"] == 2
    assert len(kinds) == summary["events_written"]
    assert not mot_out.exists()
    assert leftovers(tmp_path) == []


async def test_a_failing_run_is_marked_failed(
    database: Database, clip: Path, walkers: Path, tmp_path: Path
) -> None:
    mot_out = tmp_path / "no such dir" / "tracks.txt"
    with pytest.raises(FileNotFoundError):
        await analyze_file(
            clip, clip_options(), database=database, detections=read_mot_detections(walkers), mot_out=mot_out
        )
    async with database.session() as session:
        [run] = (await session.scalars(select(AnalyticsRun))).all()
    assert run.status == "failed" and run.ended_at is not None
    assert run.error is not None and "no such dir" in run.error


# --- the real clip with YOLOX -------------------------------------------------------------------------

needs_shared = pytest.mark.skipif(
    not (PEOPLE_VIDEO.is_file() and YOLOX_NANO.is_file()),
    reason=f"shared clip/model not found ({PEOPLE_VIDEO}, {YOLOX_NANO})",
)
REAL_LINES = ("door:0,0.5,1,0.5",)
REAL_ZONES = ("middle:0.2,0.2,0.8,0.2,0.8,0.9,0.2,0.9",)


@dataclass
class RealRun:
    database: Database
    summary: dict[str, Any]
    mot_out: Path
    refed: list[tuple[dict[str, Any], bytes]]  # the MOT output fed back as detections, twice


def real_options() -> AnalysisOptions:
    return AnalysisOptions(
        detector="yolox",
        model=YOLOX_NANO,
        detector_config=DetectorConfig(confidence=0.1, threads=2),
        lines=tuple(parse_line(t, i) for i, t in enumerate(REAL_LINES)),
        zones=tuple(parse_zone(t, i) for i, t in enumerate(REAL_ZONES)),
    )


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def real(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RealRun]:
    if not (PEOPLE_VIDEO.is_file() and YOLOX_NANO.is_file()):
        pytest.skip(f"shared clip/model not found ({PEOPLE_VIDEO}, {YOLOX_NANO})")
    directory = tmp_path_factory.mktemp("real")
    database = Database(f"sqlite+aiosqlite:///{directory / 'vtrack.db'}")
    await upgrade(database)
    mot_out = directory / "tracks.txt"
    summary = await analyze_file(PEOPLE_VIDEO, real_options(), database=database, mot_out=mot_out)
    refed = []
    for n in range(2):
        out = directory / f"refed{n}.txt"
        result = await analyze_file(
            PEOPLE_VIDEO, real_options(), detections=read_mot_detections(mot_out), mot_out=out
        )
        refed.append((result, out.read_bytes()))
    yield RealRun(database, summary, mot_out, refed)
    await database.dispose()


@needs_shared
async def test_real_clip_summary(real: RealRun) -> None:
    s = real.summary
    assert s["frames_in"] == s["frames_processed"] > 300  # ~341 frames at 25 fps
    assert s["processed_fps"] > 1
    assert 0 < s["latency_p50_ms"] <= s["latency_p95_ms"] < 5000
    assert set(s["lines"]) == {"door"} and set(s["zones"]) == {"middle"}
    door, middle = s["lines"]["door"], s["zones"]["middle"]
    assert door["in"] + door["out"] >= 2  # people walk across the middle of the picture
    assert middle["entries"] >= 2 and middle["entries"] == middle["exits"] and middle["inside"] == 0
    assert 0 < middle["dwell_avg"] <= middle["dwell_max"] <= s["frames_in"] / 25
    assert 5 <= s["tracks"] <= 150
    assert s["run_id"] is not None


@needs_shared
async def test_real_clip_database_rows(real: RealRun) -> None:
    await check_rows_match_summary(real.database, real.summary)
    async with real.database.session() as session:
        tracks = (await session.scalars(select(AnalyticsTrack))).all()
    assert all(t.frames >= 1 and t.last_seen >= t.first_seen and t.path for t in tracks)
    assert all(t.gender == "unknown" for t in tracks)  # no attribute model


@needs_shared
async def test_real_clip_mot_output(real: RealRun) -> None:
    assert leftovers(real.mot_out.parent) == []
    ids = mot_ids(real.mot_out)
    assert len(ids) == real.summary["tracks"]  # every confirmed track, and only those, is written
    detections = read_mot_detections(real.mot_out)
    assert 0 < len(detections) and max(detections) <= real.summary["frames_in"]
    for frame in detections.values():
        assert (frame.xyxy[:, 2] > frame.xyxy[:, 0]).all() and (frame.xyxy[:, 3] > frame.xyxy[:, 1]).all()


@needs_shared
async def test_real_clip_tracks_fed_back(real: RealRun) -> None:
    (first, first_mot), (second, second_mot) = real.refed
    # Same detections in, same tracks out: byte for byte.
    assert first_mot == second_mot
    strip = ("seconds", "processed_fps", "latency_p50_ms", "latency_p95_ms")
    assert {k: v for k, v in first.items() if k not in strip} == {
        k: v for k, v in second.items() if k not in strip
    }
    # The tracks written come back as the same people. Not exactly the same count: a track's birth frame is
    # not in the output (ByteTrack writes confirmed tracks only), so one confirmed in the last frame, or
    # held only by weak boxes, cannot be born again from it.
    original = real.summary["tracks"]
    assert original * 0.85 <= first["tracks"] <= original
    for name, counts in real.summary["lines"].items():
        for direction in ("in", "out"):
            assert abs(first["lines"][name][direction] - counts[direction]) <= 1

"""verify_media on files made to be right and wrong: the asked range, short and late recordings, gaps,
files that are not video, files with no start time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from tests.media.test_remux import encoded_units, iterate
from vtrack.media.remux import write_replay_mp4
from vtrack.media.verify import verify_media

START = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


async def written(
    tmp_path: Path, seconds: float, *, start: datetime = START, skip: tuple[int, ...] = ()
) -> Path:
    dest = tmp_path / "chunk.mp4.part"
    await write_replay_mp4(iterate(encoded_units(start, seconds, skip=skip)), dest, width=160, height=120)
    return dest


async def test_the_asked_range_verifies(tmp_path: Path) -> None:
    path = await written(tmp_path, 10)
    check = verify_media(path, expect_start=START, expect_end=START + 10 * SECOND, tolerance=SECOND)
    assert check.ok and check.problem is None
    assert (check.first, check.last, check.frames) == (START, START + timedelta(seconds=9.9), 100)
    assert check.duration == 10 * SECOND and check.longest_gap == timedelta(0)


async def test_a_recording_that_ends_early_is_reported(tmp_path: Path) -> None:
    path = await written(tmp_path, 6)
    check = verify_media(path, expect_start=START, expect_end=START + 10 * SECOND, tolerance=SECOND)
    assert not check.ok and check.duration == 6 * SECOND
    assert check.problem == "chunk.mp4.part: ends 4.0 s before the asked end (6.0 s, 60 frames)"


async def test_a_recording_of_another_time_is_reported(tmp_path: Path) -> None:
    path = await written(tmp_path, 10, start=START + timedelta(hours=7))  # a recorder on local time
    check = verify_media(path, expect_start=START, expect_end=START + 10 * SECOND, tolerance=SECOND)
    assert not check.ok and check.problem is not None
    assert "starts 25200.0 s after the asked start" in check.problem


async def test_a_gap_inside_is_reported_without_failing(tmp_path: Path) -> None:
    path = await written(tmp_path, 10, skip=tuple(range(30, 60)))  # 3 s missing in the middle
    check = verify_media(path, expect_start=START, expect_end=START + 10 * SECOND, tolerance=SECOND)
    assert check.ok and check.frames == 70
    assert check.longest_gap == timedelta(seconds=3.1)


def test_not_a_video_file(tmp_path: Path) -> None:
    path = tmp_path / "x.mp4.part"
    path.write_bytes(b"\0" * 1000)
    check = verify_media(path, expect_start=START, expect_end=START + SECOND, tolerance=SECOND)
    assert (
        not check.ok and check.problem is not None and check.problem.startswith("x.mp4.part: does not open")
    )
    missing = verify_media(tmp_path / "gone.part", expect_start=START, expect_end=START, tolerance=SECOND)
    assert not missing.ok and missing.problem is not None and "does not open" in missing.problem


def test_audio_only_has_no_video(tmp_path: Path) -> None:
    path = tmp_path / "a.m4a"
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 8000
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    check = verify_media(path, expect_start=START, expect_end=START + SECOND, tolerance=SECOND)
    assert (check.ok, check.problem) == (False, "a.m4a: has no video stream")


def test_a_file_without_a_start_time_cannot_be_placed(tmp_path: Path) -> None:
    path = tmp_path / "plain.mp4"
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 10)
        for index in range(10):
            frame = av.VideoFrame.from_ndarray(np.zeros((72, 64), np.uint8), format="yuv420p")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    check = verify_media(path, expect_start=START, expect_end=START + SECOND, tolerance=SECOND)
    assert not check.ok and check.frames == 10 and check.duration == SECOND
    assert check.problem == "plain.mp4: has no recording start time (no vtrack_start or creation_time)"

"""The synthetic archive: the frame at archive time T is a pure function of T."""

from __future__ import annotations

from datetime import UTC, datetime

from vtrack.simulator.config import CameraSpec
from vtrack.simulator.media.archive import (
    SyntheticArchive,
    datetime_from_ticks,
    ntp_from_ticks,
    ticks_from_datetime,
    ticks_from_ntp,
)
from vtrack.simulator.media.encode import encode_pattern_clip
from vtrack.simulator.media.stream import CLOCK_RATE

NOW = datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC).timestamp()
CAMERA = CameraSpec(index=0, name="x", width=160, height=120, codec="h264", fps=10)


def _archive() -> SyntheticArchive:
    return SyntheticArchive(encode_pattern_clip(CAMERA, seconds=2.0), clock=lambda: NOW)


def test_time_conversions_are_exact() -> None:
    when = datetime(2026, 11, 20, 8, 30, 15, 250000, tzinfo=UTC)
    ticks = ticks_from_datetime(when)
    assert datetime_from_ticks(ticks) == when
    assert ticks_from_ntp(ntp_from_ticks(ticks)) == ticks
    assert ntp_from_ticks(0) >> 32 == 2_208_988_800  # 1970 in NTP seconds


def test_recording_range_is_the_last_seven_days() -> None:
    start, end = _archive().recording_range()
    assert end == int(NOW * CLOCK_RATE) and end - start == 7 * 86_400 * CLOCK_RATE


def test_range_starts_on_a_keyframe_and_stays_inside() -> None:
    archive = _archive()
    start = ticks_from_datetime(datetime(2026, 11, 20, 10, 0, 0, 350000, tzinfo=UTC))
    end = start + 3 * CLOCK_RATE
    frames = list(archive.frames(start, end))
    assert frames[0].unit.keyframe
    assert all(start <= f.time <= end for f in frames)
    assert frames[0].time - start < CLOCK_RATE  # the next keyframe is within a GOP (1 s)
    times = [f.time for f in frames]
    assert times == sorted(times) and all(b - a == 9000 for a, b in zip(times, times[1:], strict=False))
    # Deterministic: the loop position of each frame follows from its time alone.
    for frame in frames:
        assert archive.loop_index_at(frame.time) == frame.index
        assert frame.time == frame.loop * archive.clip.duration + archive.clip.units[frame.index].pts
    assert frames == list(_archive().frames(start, end))


def test_ranges_outside_the_recording_are_empty_or_clipped() -> None:
    archive = _archive()
    low, high = archive.recording_range()
    assert list(archive.frames(high + CLOCK_RATE, high + 2 * CLOCK_RATE)) == []
    clipped = list(archive.frames(low - 10 * CLOCK_RATE, low + 2 * CLOCK_RATE))
    assert clipped and clipped[0].time >= low


def test_resume_continues_at_the_exact_frame() -> None:
    archive = _archive()
    start = ticks_from_datetime(datetime(2026, 11, 20, 10, 0, 0, tzinfo=UTC))
    frames = list(archive.frames(start, start + 2 * CLOCK_RATE))
    resumed = list(archive.resume(frames[7], start + 2 * CLOCK_RATE))
    assert resumed == frames[7:] and not resumed[0].unit.keyframe

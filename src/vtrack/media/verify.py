"""Is a downloaded recording what was asked for? Checked from packet timestamps alone, nothing decoded.

Demuxing a 10-minute file costs milliseconds where decoding it would cost a core for seconds, and what a
download can get wrong shows in the timestamps: a file cut short by a dropped connection, a recorder that
served another hour (clock or timezone trouble), timestamps that run backwards (a muxing fault players
stumble on). The file's absolute start comes from the `vtrack_start` tag that `remux` writes (to the
microsecond), else `creation_time` (seconds).

The covered span is [first frame, last frame + its duration): a 60 s range at 15 fps is 900 frames from
0 to 59.933 s and covers 60 s. A recording with a gap legitimately covers less than asked; the check
says so in `problem` with ok False, and the caller, which knows the recorder's search results, decides.
Gaps inside the file (the writer keeps recording time, so a gap is a long frame) are reported as
`longest_gap` without failing the check.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av
import av.error

from vtrack.devices.rtsp.replay import utc
from vtrack.media.remux import file_start

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MediaCheck:
    ok: bool
    duration: timedelta  # the span covered: first frame to the end of the last
    first: datetime | None  # recording time of the first frame shown; None without a start in the file
    last: datetime | None  # recording time of the last frame shown (its start)
    frames: int
    problem: str | None  # why ok is False, one sentence naming the file
    longest_gap: timedelta = timedelta(0)  # the longest frame interval beyond twice the usual one


def _fail(path: Path, problem: str) -> MediaCheck:
    return MediaCheck(False, timedelta(0), None, None, 0, f"{path.name}: {problem}")


def verify_media(
    path: Path, *, expect_start: datetime, expect_end: datetime, tolerance: timedelta
) -> MediaCheck:
    """Open `path`, demux its video packets, and compare first/last times and span with the asked range.

    Blocking (milliseconds for a 10-minute file): run it in a worker thread from async code.
    """
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        return _fail(path, f"does not open ({getattr(exc, 'strerror', None) or type(exc).__name__})")
    with container:
        if not container.streams.video:
            return _fail(path, "has no video stream")
        video = container.streams.video[0]
        base = file_start(container)
        shown: list[int] = []
        durations: dict[int, int] = {}
        last_dts: int | None = None
        try:
            for packet in container.demux(video):
                if packet.size == 0:
                    continue
                if packet.pts is None or packet.dts is None:
                    return _fail(path, f"frame {len(shown)} has no timestamp")
                if last_dts is not None and packet.dts <= last_dts:
                    return _fail(path, f"timestamps run backwards at frame {len(shown)}")
                last_dts = packet.dts
                shown.append(packet.pts)
                durations[packet.pts] = packet.duration or 0
        except av.error.FFmpegError as exc:
            return _fail(path, f"is damaged after {len(shown)} frames ({exc.strerror or type(exc).__name__})")
        time_base = video.time_base
    if not shown or time_base is None:
        return _fail(path, "holds no video frames")
    return _judge(path, shown, durations, time_base, base, utc(expect_start), utc(expect_end), tolerance)


def _judge(
    path: Path,
    shown: list[int],
    durations: dict[int, int],
    time_base: Fraction,
    base: datetime | None,
    expect_start: datetime,
    expect_end: datetime,
    tolerance: timedelta,
) -> MediaCheck:
    def seconds(ticks: int) -> timedelta:
        return timedelta(seconds=float(ticks * time_base))

    shown.sort()
    steps = sorted(b - a for a, b in zip(shown, shown[1:], strict=False))
    usual = steps[len(steps) // 2] if steps else 0
    tail = usual or durations[shown[-1]]  # the usual frame: a demuxer's last duration may be 1 tick
    duration = seconds(shown[-1] + tail - shown[0])
    longest = max(steps, default=0)
    gap = seconds(longest) if usual and longest > 2 * usual else timedelta(0)
    frames = len(shown)
    if base is None:
        missing = f"{path.name}: has no recording start time (no vtrack_start or creation_time)"
        return MediaCheck(False, duration, None, None, frames, missing, gap)
    first, last = base + seconds(shown[0]), base + seconds(shown[-1])
    end = first + duration
    asked = expect_end - expect_start
    problem: str | None = None
    if abs(first - expect_start) > tolerance:
        problem = f"starts {_offset(first - expect_start)} the asked start"
    elif abs(end - expect_end) > tolerance:
        problem = f"ends {_offset(end - expect_end)} the asked end"
    elif abs(duration - asked) > tolerance:
        problem = f"covers {duration.total_seconds():.1f} s of the {asked.total_seconds():.1f} s asked"
    if problem is not None:
        problem = f"{path.name}: {problem} ({duration.total_seconds():.1f} s, {frames} frames)"
        log.info("%s", problem)
    return MediaCheck(problem is None, duration, first, last, frames, problem, gap)


def _offset(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    return f"{abs(seconds):.1f} s {'after' if seconds > 0 else 'before'}"

"""The synthetic recording archive behind ONVIF replay: a camera that has recorded its loop forever.

Recording position is a pure function of time: the loop clip repeats back to back from the Unix epoch, so
the frame shown at archive time T is loop frame ((T - loop start) / frame duration) with loop start
= floor(T / loop length) * loop length. Any client, any day, gets the same frame for the same T, and can
verify a download by decoding it (the pattern's burned-in frame counter is the loop frame index).
The archive advertises the last `days` days as its recording range; times are integer 90 kHz ticks
since the Unix epoch so the mapping stays exact.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from vtrack.simulator.media.stream import CLOCK_RATE, AccessUnit, EncodedClip

ARCHIVE_DAYS = 7
_NTP_UNIX_OFFSET = 2_208_988_800  # seconds from 1900-01-01 (NTP epoch) to 1970-01-01


def ticks_from_datetime(when: datetime) -> int:
    """90 kHz ticks since the Unix epoch; naive datetimes are taken as UTC."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = when - datetime(1970, 1, 1, tzinfo=UTC)
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return micros * CLOCK_RATE // 1_000_000


def datetime_from_ticks(ticks: int) -> datetime:
    seconds, rest = divmod(ticks, CLOCK_RATE)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=rest * 1_000_000 // CLOCK_RATE)


def ntp_from_ticks(ticks: int) -> int:
    """64-bit NTP timestamp (seconds since 1900 in the high word, binary fraction in the low word)."""
    seconds, rest = divmod(ticks, CLOCK_RATE)
    return ((seconds + _NTP_UNIX_OFFSET) << 32) | (rest << 32) // CLOCK_RATE


def ticks_from_ntp(ntp: int) -> int:
    seconds = (ntp >> 32) - _NTP_UNIX_OFFSET
    return seconds * CLOCK_RATE + ((ntp & 0xFFFFFFFF) * CLOCK_RATE >> 32)


@dataclass(frozen=True, slots=True)
class ArchiveFrame:
    time: int  # archive (presentation) time of the frame, ticks since the Unix epoch
    loop: int  # which repetition of the loop
    index: int  # position in the clip, decode order
    unit: AccessUnit


class SyntheticArchive:
    def __init__(
        self, clip: EncodedClip, *, days: int = ARCHIVE_DAYS, clock: Callable[[], float] = time.time
    ) -> None:
        self.clip = clip
        self.days = days
        self._clock = clock
        self._keyframes = [i for i, unit in enumerate(clip.units) if unit.keyframe]
        self._shown = sorted(unit.pts for unit in clip.units)

    def recording_range(self) -> tuple[int, int]:
        """[start, end] of the recording in ticks: from `days` ago until now."""
        end = int(self._clock() * CLOCK_RATE)
        return end - self.days * 86_400 * CLOCK_RATE, end

    def frame_time(self, loop: int, index: int) -> int:
        return loop * self.clip.duration + self.clip.units[index].pts

    def loop_index_at(self, ticks: int) -> int:
        """Which loop frame (by presentation time) is on screen at archive time `ticks`."""
        offset = ticks % self.clip.duration
        return max(0, bisect.bisect_right(self._shown, offset) - 1)

    def frames(self, start: int, end: int) -> Iterator[ArchiveFrame]:
        """Frames to send for [start, end], in decode order.

        Starts at the first keyframe at or after `start` (so the client can decode from the first frame
        and nothing before `start` is sent) and yields only frames whose time lies in [start, end].
        """
        low, high = self.recording_range()
        start, end = max(start, low), min(end, high)
        if end < start:
            return
        clip = self.clip
        loop = start // clip.duration
        position = self._first_keyframe_at_or_after(loop, start)
        if position is None:
            return
        yield from self._walk(*position, start, end)

    def resume(self, frame: ArchiveFrame, end: int) -> Iterator[ArchiveFrame]:
        """Frames from `frame` (inclusive, decode order) to `end`: continuing a paused replay exactly.

        No keyframe search: the client already holds the references the next frame needs.
        """
        yield from self._walk(
            frame.loop, frame.index, self.recording_range()[0], min(end, self.recording_range()[1])
        )

    def _walk(self, loop: int, index: int, start: int, end: int) -> Iterator[ArchiveFrame]:
        clip = self.clip
        while True:
            unit = clip.units[index]
            when = loop * clip.duration + unit.pts
            decode_time = loop * clip.duration + unit.dts
            if decode_time > end:
                return
            if start <= when <= end:
                yield ArchiveFrame(when, loop, index, unit)
            index += 1
            if index == len(clip.units):
                loop, index = loop + 1, 0

    def _first_keyframe_at_or_after(self, loop: int, start: int) -> tuple[int, int] | None:
        for candidate_loop in (loop, loop + 1):
            for index in self._keyframes:
                if self.frame_time(candidate_loop, index) >= start:
                    return candidate_loop, index
        return None

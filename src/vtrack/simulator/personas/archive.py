"""The synthetic recording archive behind both personas: continuous recording, fixed-length files, 7 days.

Real NVRs and SD cards keep video as files of a fixed length per channel (Hikvision and Dahua default to a few
minutes up to an hour) and overwrite the oldest. Here every channel has recorded without gaps; file boundaries
sit on multiples of the segment length since the Unix epoch, so a file's identity (channel, start) and its
bytes never depend on when it was asked for, only whether it is still inside the retention window. That lets
a client list, download and verify the same file across runs.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

SEGMENT_SECONDS = 600
RETENTION = timedelta(days=7)
# The bytes served for a file: the rendered MP4 padded to this size (see clips.py), so the size a search
# announces is exactly what a download delivers. Far below a real 10-minute file, to keep tests fast.
_SIZE_BASE = 96 * 1024
_SIZE_SPREAD = 32 * 1024

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Segment:
    """One recorded file: a channel's video from `start` (inclusive) to `end` (exclusive), UTC."""

    channel: int
    start: datetime
    end: datetime
    size: int

    @property
    def duration_seconds(self) -> int:
        return int((self.end - self.start).total_seconds())


def segment_size(channel: int, start: datetime) -> int:
    """The file size of a segment: fixed by its identity, varied a little as real files are."""
    key = f"{channel}:{int(start.timestamp())}".encode()
    return _SIZE_BASE + zlib.crc32(key) % _SIZE_SPREAD


class SyntheticArchive:
    """The files each channel holds right now, and lookups by time range or by exact start."""

    def __init__(
        self,
        channels: Iterable[int],
        clock: Clock = utc_now,
        segment_seconds: int = SEGMENT_SECONDS,
        retention: timedelta = RETENTION,
    ) -> None:
        self.channels = frozenset(channels)
        self._clock = clock
        self.segment_seconds = segment_seconds
        self._retention = retention

    def window(self) -> tuple[datetime, datetime]:
        """From the oldest kept file's start to the newest finished file's end (the one being written is not
        listed: devices only list closed files)."""
        now = int(self._clock().timestamp())
        newest_end = now - now % self.segment_seconds
        oldest_start = newest_end - int(self._retention.total_seconds())
        return _utc(oldest_start), _utc(newest_end)

    def find(self, channel: int, start: datetime, end: datetime) -> list[Segment]:
        """Files of `channel` overlapping [start, end), oldest first, with their true boundaries."""
        if channel not in self.channels or end <= start:
            return []
        oldest, newest = self.window()
        first = max(_floor(int(start.timestamp()), self.segment_seconds), int(oldest.timestamp()))
        stop = min(int(end.timestamp()), int(newest.timestamp()))
        return [self._segment(channel, at) for at in range(first, stop, self.segment_seconds)]

    def segment(self, channel: int, start: datetime) -> Segment | None:
        """The file of `channel` starting exactly at `start`, if the archive still holds it."""
        at = int(start.timestamp())
        oldest, newest = self.window()
        if (
            channel not in self.channels
            or at % self.segment_seconds
            or not int(oldest.timestamp()) <= at < int(newest.timestamp())
        ):
            return None
        return self._segment(channel, at)

    def _segment(self, channel: int, at: int) -> Segment:
        start = _utc(at)
        return Segment(
            channel=channel,
            start=start,
            end=start + timedelta(seconds=self.segment_seconds),
            size=segment_size(channel, start),
        )


def _floor(value: int, step: int) -> int:
    return value - value % step


def _utc(epoch_seconds: int) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, UTC)

"""What to fetch: the recorded time not yet in the archive, cut into archive-sized chunks.

Everything here is pure (times in, chunks out), so the rules are tested without a device:
- Wanted = the device's recording segments within the asked window. Have = the archive's done files.
  Missing = wanted - have, so a re-run with nothing new plans nothing, and a gap (a chunk that failed, a
  recording that grew since the last run) is exactly what the next run fetches.
- Replayable (ONVIF) time is cut at a fixed grid (`chunk` long, aligned to the epoch) and at local
  midnight, so chunks have the same boundaries on every run and every file lies in one date folder.
  A chunk is the unit of resumption: a run killed mid-chunk refetches that chunk only.
- Vendor files (HTTP) are fetched whole, once per remote id: their bytes cannot be cut by time.
- Slivers shorter than `min_length` (clock jitter between a recording's end and our last chunk) are
  not worth a file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

Span = tuple[datetime, datetime]
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Wanted:
    """A recording segment of one camera, as the device listed it."""

    camera_id: str
    start: datetime
    end: datetime
    remote_id: str
    kind: str  # onvif_replay or http
    url: str
    container: str | None = None
    size_bytes: int | None = None


@dataclass(frozen=True)
class Chunk:
    camera_id: str
    start: datetime
    end: datetime
    segment: Wanted

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def merge(spans: Iterable[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end in sorted(spans):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def subtract(span: Span, covered: Sequence[Span]) -> list[Span]:
    """The parts of `span` outside every covered span (`covered` merged and sorted)."""
    start, end = span
    out: list[Span] = []
    for c_start, c_end in covered:
        if c_end <= start or c_start >= end:
            continue
        if c_start > start:
            out.append((start, c_start))
        start = max(start, c_end)
        if start >= end:
            return out
    if start < end:
        out.append((start, end))
    return out


def _cuts(start: datetime, end: datetime, chunk: timedelta, zone: ZoneInfo) -> list[datetime]:
    """Grid points and local midnights strictly inside (start, end)."""
    cuts: set[datetime] = set()
    steps = (start - EPOCH) // chunk + 1
    point = EPOCH + steps * chunk
    while point < end:
        cuts.add(point)
        point += chunk
    day = start.astimezone(zone).date() + timedelta(days=1)
    while True:
        midnight = datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)
        if midnight >= end:
            break
        if midnight > start:
            cuts.add(midnight)
        day += timedelta(days=1)
    return sorted(cuts)


def plan_chunks(
    wanted: Iterable[Wanted],
    have: Iterable[tuple[str, Span]],
    have_remote: Iterable[tuple[str, str]],
    window: Span,
    *,
    chunk: timedelta,
    zone: ZoneInfo,
    min_length: timedelta = timedelta(seconds=2),
) -> list[Chunk]:
    """Chunks to fetch, oldest first. `have`: (camera_id, span) of done files; `have_remote`:
    (camera_id, remote_id) of done whole-file downloads."""
    covered: dict[str, list[Span]] = {}
    for camera_id, span in have:
        covered.setdefault(camera_id, []).append(span)
    merged = {camera_id: merge(spans) for camera_id, spans in covered.items()}
    fetched = set(have_remote)
    chunks: list[Chunk] = []
    for segment in wanted:
        if segment.kind != "onvif_replay":
            if (segment.camera_id, segment.remote_id) not in fetched and segment.end > window[0]:
                if segment.start < window[1]:
                    chunks.append(Chunk(segment.camera_id, segment.start, segment.end, segment))
            continue
        clipped = (max(segment.start, window[0]), min(segment.end, window[1]))
        if clipped[1] <= clipped[0]:
            continue
        for start, end in subtract(clipped, merged.get(segment.camera_id, [])):
            points = [start, *_cuts(start, end, chunk, zone), end]
            for piece_start, piece_end in zip(points, points[1:], strict=False):
                if piece_end - piece_start >= min_length:
                    chunks.append(Chunk(segment.camera_id, piece_start, piece_end, segment))
    chunks.sort(key=lambda c: (c.start, c.camera_id))
    return chunks

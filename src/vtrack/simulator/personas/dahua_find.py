"""Dahua's media file finder: the server-side objects behind /cgi-bin/mediaFileFind.cgi, and its file paths.

A client creates a finder (factory.create), starts a search on it (findFile), pulls results in pages
(findNextFile, until found=0), then close and destroy it. Firmware keeps a handful of finders; clients that
forget destroy are common, so the least recently used finder is dropped when the store is full rather than
refusing new ones forever.

Files are named as Dahua names them on disk:
/mnt/dvr/<date>/<channel - 1>/dav/<hour>/<start>-<end>[R][0@0][0].dav ("R" for a regular, timed
recording). The bytes served for them are the MP4 clips (see clips.py), not Dahua's own DAV container:
FFmpeg and PyAV pick the demuxer from the content, not the name, so clients open them the way they open
real .dav files (FFmpeg reads those too, with its dhav demuxer).
"""

from __future__ import annotations

import itertools
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from vtrack.simulator.personas.archive import Segment

MAX_FINDERS = 32
_PATH = re.compile(
    r"^/mnt/dvr/(\d{4}-\d{2}-\d{2})/(\d+)/dav/\d{2}/"
    r"(\d{2}\.\d{2}\.\d{2})-(\d{2}\.\d{2}\.\d{2})\[R\]\[0@0\]\[0\]\.dav$"
)


def file_path(segment: Segment) -> str:
    start, end = segment.start, segment.end
    return (
        f"/mnt/dvr/{start:%Y-%m-%d}/{segment.channel - 1}/dav/{start:%H}/"
        f"{start:%H.%M.%S}-{end:%H.%M.%S}[R][0@0][0].dav"
    )


def parse_file_path(path: str) -> tuple[int, datetime, str] | None:
    """(channel, start, end as HH.MM.SS) from a file path; None when it is not one of this device's paths."""
    match = _PATH.match(path)
    if match is None:
        return None
    day, channel_index, start_text, end_text = match.groups()
    try:
        start = datetime.strptime(f"{day} {start_text}", "%Y-%m-%d %H.%M.%S").replace(tzinfo=UTC)
    except ValueError:
        return None
    return int(channel_index) + 1, start, end_text


def end_matches(segment: Segment, end_text: str) -> bool:
    return f"{segment.end:%H.%M.%S}" == end_text and segment.end - segment.start < timedelta(days=1)


@dataclass
class Finder:
    """One finder object: no search yet (results None), or a search's results and how far they were read."""

    results: list[Segment] | None = None
    cursor: int = 0

    def start(self, results: list[Segment]) -> None:
        self.results, self.cursor = results, 0

    def next_page(self, count: int) -> list[Segment]:
        if self.results is None:
            raise LookupError("findFile has not been called on this object")
        page = self.results[self.cursor : self.cursor + count]
        self.cursor += len(page)
        return page

    def close(self) -> None:
        self.results, self.cursor = None, 0


@dataclass
class FinderStore:
    capacity: int = MAX_FINDERS
    _finders: OrderedDict[int, Finder] = field(default_factory=OrderedDict)
    # Object ids look like the handles firmware hands out: large, increasing, not 1, 2, 3.
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(start=140_407_312, step=8))

    def create(self) -> int:
        while len(self._finders) >= self.capacity:
            self._finders.popitem(last=False)
        object_id = next(self._ids)
        self._finders[object_id] = Finder()
        return object_id

    def get(self, object_id: str | None) -> Finder | None:
        key = _as_id(object_id)
        finder = self._finders.get(key) if key is not None else None
        if finder is not None and key is not None:
            self._finders.move_to_end(key)
        return finder

    def destroy(self, object_id: str | None) -> bool:
        key = _as_id(object_id)
        return key is not None and self._finders.pop(key, None) is not None


def _as_id(object_id: str | None) -> int | None:
    if object_id is None or not object_id.strip().isdigit():
        return None
    return int(object_id.strip())

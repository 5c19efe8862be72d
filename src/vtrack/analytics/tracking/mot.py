"""MOTChallenge text files: read public detections (det.txt), write tracker results.

Why this format: it is what every MOT benchmark, py-motmetrics and TrackEval read, so vtrack's tracker can
be run on published detections and scored against published ground truth without any converter.
Rows are "frame,id,x,y,w,h,conf,..." with 1-based frames and (x, y) the top-left corner in pixels.
Coordinates are passed through unchanged both ways (MOTChallenge's files count pixels from 1, vtrack's
frames from 0): tracking is shift-invariant, so results come out in whatever convention the detections
went in, which is the one the matching ground truth uses.
"""

from __future__ import annotations

import math
import os
import secrets
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TextIO

import numpy as np

from vtrack.analytics.errors import AnalyticsConfigError
from vtrack.analytics.types import Detections, Track

_MIN_FIELDS = 7  # frame, id, x, y, w, h, conf (the 3D/class columns after them are ignored)


def read_mot_detections(path: Path | str) -> dict[int, Detections]:
    """Frame number (1-based) -> that frame's detections; frames without a row are absent.

    Blank lines and lines starting with '#' are skipped; any other malformed row is an error naming its
    line, because silently skipping rows would make a benchmark score quietly wrong.
    """
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AnalyticsConfigError("detections", f"cannot read {source}: {exc}") from exc
    rows: dict[int, list[tuple[float, float, float, float, float]]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        frame, row = _parse_row(stripped, number)
        rows.setdefault(frame, []).append(row)
    result: dict[int, Detections] = {}
    for frame in sorted(rows):
        values = np.asarray(rows[frame], np.float32).reshape(-1, 5)
        result[frame] = Detections.from_arrays(values[:, :4], values[:, 4])
    return result


def _parse_row(line: str, number: int) -> tuple[int, tuple[float, float, float, float, float]]:
    def bad(problem: str) -> AnalyticsConfigError:
        return AnalyticsConfigError("detections", f"line {number}: {problem}: {line[:80]!r}")

    parts = line.split(",")
    if len(parts) < _MIN_FIELDS:
        raise bad(f"expected at least {_MIN_FIELDS} comma-separated values (frame,id,x,y,w,h,conf)")
    try:
        frame_f, _, x, y, w, h, conf = (float(p) for p in parts[:_MIN_FIELDS])
    except ValueError:
        raise bad("not a number") from None
    if not all(math.isfinite(v) for v in (frame_f, x, y, w, h, conf)):
        raise bad("values must be finite")
    if not frame_f.is_integer() or frame_f < 1:
        raise bad("frame must be a whole number >= 1")
    if w <= 0 or h <= 0:
        raise bad("width and height must be positive")
    return int(frame_f), (x, y, x + w, y + h, conf)


class MotWriter:
    """Writes confirmed tracks as MOT rows to a hidden temporary file that replaces `path` on close.

    Why the rename: a reader (a scorer, a download) never sees half a result file, and a run that fails
    midway leaves the previous result, if any, untouched. Leaving the `with` block through an exception
    discards the temporary file instead.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.tmp")
        # "x": never clobber. Plain open() so the result gets the usual umask-derived mode (mkstemp: 0600).
        self._file: TextIO | None = open(self._tmp, "x", encoding="utf-8", newline="\n")
        self.rows = 0

    def write(self, frame_number: int, tracks: Sequence[Track]) -> None:
        """Append the confirmed tracks of one frame (1-based number, as in the MOT files)."""
        if self._file is None:
            raise ValueError(f"MotWriter for {self.path} is closed")
        if frame_number < 1:
            raise ValueError(f"MOT frame numbers start at 1, got {frame_number}")
        lines = []
        for track in tracks:
            if not track.confirmed:
                continue
            x1, y1, x2, y2 = track.xyxy
            lines.append(
                f"{frame_number},{track.track_id},{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},"
                f"{track.score:.4f},-1,-1,-1\n"
            )
        self._file.writelines(lines)
        self.rows += len(lines)

    def close(self) -> None:
        """Make the result visible under `path` (durably: flushed and synced before the rename)."""
        if self._file is None:
            return
        file, self._file = self._file, None
        try:
            file.flush()
            os.fsync(file.fileno())
        finally:
            file.close()
        os.replace(self._tmp, self.path)

    def discard(self) -> None:
        """Abandon the output: the temporary file goes, `path` is left as it was."""
        if self._file is None:
            return
        file, self._file = self._file, None
        file.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> MotWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.discard()

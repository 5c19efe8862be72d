"""Retention: which archived files go when a camera's archive is too old or too big, and removing them.

Split in two so the rule can be tested without a disk and the deleting can be trusted: the planner is
pure (rows in, ids out), and the executor deletes exactly the files it is given, which come from the
index. Nothing here lists a directory to find victims, so a file someone copied into the archive by
hand is never touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from vtrack.archive.errors import ArchivePathError
from vtrack.archive.layout import ArchiveLayout
from vtrack.settings import Settings

log = logging.getLogger(__name__)

_DATE_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class ArchivedFile:
    """One index row (downloaded_files, state done): `path` is relative to the archive root."""

    id: str
    path: str
    size: int
    start: datetime
    end: datetime


@dataclass(frozen=True)
class RetentionPolicy:
    max_age: timedelta | None = None
    max_bytes: int | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> RetentionPolicy:
        days, gb = settings.retention_max_age_days, settings.retention_max_gb_per_camera
        return cls(
            max_age=timedelta(days=days) if days is not None else None,
            max_bytes=int(gb * 10**9) if gb is not None else None,
        )

    @property
    def active(self) -> bool:
        return self.max_age is not None or self.max_bytes is not None


def plan_retention(
    files: Sequence[ArchivedFile], now: datetime, max_age: timedelta | None, max_bytes: int | None
) -> list[str]:
    """Ids to delete from one camera's files, oldest first, until both limits hold.

    Age counts from a file's end: a file is kept while any of it is younger than `max_age`. Size is
    the sum of the files given (the index's sizes, not a disk scan); the oldest go first until the
    rest fit in `max_bytes`.
    """
    ordered = sorted(files, key=lambda f: (f.start, f.end, f.id))
    doomed: list[str] = []
    kept: list[ArchivedFile] = []
    for file in ordered:
        if max_age is not None and file.end <= now - max_age:
            doomed.append(file.id)
        else:
            kept.append(file)
    if max_bytes is not None:
        total = sum(f.size for f in kept)
        for file in kept:
            if total <= max_bytes:
                break
            doomed.append(file.id)
            total -= file.size
    return doomed


@dataclass
class RetentionResult:
    deleted: list[str] = field(default_factory=list)  # removed now, or already gone: drop the row
    failed: dict[str, str] = field(default_factory=dict)  # id -> why; keep the row, try next time


async def apply_retention(layout: ArchiveLayout, files: Sequence[ArchivedFile]) -> RetentionResult:
    """Delete exactly `files` (from the index); a file already missing counts as deleted."""
    return await asyncio.to_thread(_apply, layout, files)


def _apply(layout: ArchiveLayout, files: Sequence[ArchivedFile]) -> RetentionResult:
    result = RetentionResult()
    for file in files:
        try:
            path = layout.resolve(file.path)
            path.unlink()
        except FileNotFoundError:
            log.info("archive: %s was already gone", file.path)
        except (ArchivePathError, OSError) as exc:
            log.warning("archive: retention could not delete %s: %s", file.path, exc)
            result.failed[file.id] = str(exc)
            continue
        else:
            _remove_empty_day(layout, path.parent)
        result.deleted.append(file.id)
    if result.deleted:
        log.info("archive: retention deleted %s files", len(result.deleted))
    return result


def _remove_empty_day(layout: ArchiveLayout, folder: Path) -> None:
    """Tidy the YYYY-MM-DD folder once its last file went; rmdir refuses a folder with anything in it
    (a file the index does not know, a .part), which is then left alone."""
    if folder != layout.root and _DATE_DIR.match(folder.name):
        with contextlib.suppress(OSError):
            folder.rmdir()

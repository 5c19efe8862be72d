"""Where an archived recording lives: {root}/{source}/{camera}/{YYYY-MM-DD}/{HHMMSS}-{HHMMSS}.mp4.

Dates and times are local (the configured zone), because that is how people ask for footage ("the gate,
yesterday around 14:00"); the index keeps exact UTC times, so the names only need to be readable and
unique per camera.

A file is filed under its start's local date. Its end is the local wall-clock time, with hours
continuing past 23 when the end falls on a later local day: 23:00 to midnight is "230000-240000.mp4",
23:50 to 00:10 is "235000-241000.mp4". So the end field is always after the start field, the name
alone says how long the file is, and nothing looks like it runs backwards. (The sync planner cuts at
local midnight, so in practice only "240000" appears.)

The root is a jail: every path handed out or accepted is checked, symlinks resolved, to be inside it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path, PurePosixPath
from zoneinfo import ZoneInfo

from vtrack.archive.errors import ArchivePathError
from vtrack.archive.names import sanitise_name

log = logging.getLogger(__name__)

DIR_MODE = 0o750
EXTENSION = ".mp4"


class ArchiveLayout:
    def __init__(self, root: Path, timezone: str) -> None:
        self.root = Path(os.path.abspath(root))
        self.zone = ZoneInfo(timezone)

    @property
    def real_root(self) -> Path:
        """The root with symlinks resolved: a root that is itself a link (to a NAS mount) is allowed."""
        return self.root.resolve()

    def source_dir(self, source_name: str) -> Path:
        """The seeds' "working directory" of a source: one folder per camera under it."""
        return self._jailed(self.root / sanitise_name(source_name))

    def camera_dir(self, source_name: str, camera_name: str) -> Path:
        return self._jailed(self.source_dir(source_name) / sanitise_name(camera_name))

    def path_for(self, source_name: str, camera_name: str, start: datetime, end: datetime) -> Path:
        """The final path of the file covering [start, end) (aware datetimes, any zone; UTC from the DB)."""
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("path_for needs timezone-aware datetimes")
        if end <= start:
            raise ValueError(f"a file must end after it starts ({start.isoformat()} .. {end.isoformat()})")
        local_start, local_end = start.astimezone(self.zone), end.astimezone(self.zone)
        day = local_start.date()
        end_hours = (local_end.date() - day).days * 24 + local_end.hour
        name = f"{local_start:%H%M%S}-{end_hours:02d}{local_end:%M%S}{EXTENSION}"
        return self._jailed(self.camera_dir(source_name, camera_name) / day.isoformat() / name)

    def relative(self, path: Path) -> str:
        """The POSIX path under the root that the index stores, so the root can move without a migration."""
        absolute = Path(os.path.abspath(path))
        if absolute.is_relative_to(self.root):
            relative = self._jailed(absolute).relative_to(self.root)
        else:
            real = absolute.resolve()
            if not real.is_relative_to(self.real_root):
                raise ArchivePathError(f"{path} is outside the archive root {self.root}")
            relative = real.relative_to(self.real_root)
        if not relative.parts:
            raise ArchivePathError("the archive root itself is not a file in the archive")
        return PurePosixPath(*relative.parts).as_posix()

    def resolve(self, relative: str) -> Path:
        """The path of an index entry; refuses anything that would land outside the root.

        The index is trusted less than it looks: a row may have been edited, or a directory replaced by
        a symlink. So "..", absolute paths and links that point out are refused, not normalised away.
        """
        parts = relative.split("/")
        if "\x00" in relative or "\\" in relative or any(part in {"", ".", ".."} for part in parts):
            raise ArchivePathError(f"not an archive path: {relative!r}")
        return self._jailed(self.root.joinpath(*parts))

    def ensure_camera_dirs(self, source_name: str, camera_names: Iterable[str]) -> list[Path]:
        """Create the source's directory and one per selected camera, as the seeds expect on source save."""
        self.root.mkdir(parents=True, exist_ok=True)
        source_dir = self._mkdir(self.source_dir(source_name))
        created = [self._mkdir(self.camera_dir(source_name, name)) for name in camera_names]
        log.info("archive: %s cameras ready under %s", len(created), source_dir)
        return created

    def _mkdir(self, path: Path) -> Path:
        path.mkdir(mode=DIR_MODE, exist_ok=True)
        return self._jailed(path)  # again: a link planted between the check and the mkdir

    def _jailed(self, path: Path) -> Path:
        """`path` itself (not its target), once its resolved form is known to be inside the root.

        The lexical path is returned on purpose: retention unlinking a planted symlink removes the link,
        not the file it points at, which another index row may own.
        """
        real = path.resolve()
        root = self.real_root
        if real == root or not real.is_relative_to(root):
            raise ArchivePathError(f"{path} resolves outside the archive root {self.root}")
        return path

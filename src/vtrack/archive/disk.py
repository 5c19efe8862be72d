"""Can the archive take more files? Exists, writable (really: a probe file), free space and inodes.

The reserve exists so that sync pauses while the box still works: a full disk also stops the database,
the logs and the snapshot store, and leaves half-written files behind. The check runs before every
download (with the expected size) and behind the health endpoint. Downloads of small clips come
hundreds a second, so `ensure_room` looks at the disk at most once every `RECHECK_SECONDS` and in
between counts what it has let through against the free space and inodes it last saw.

Sizes are decimal (1 GB = 10**9 bytes), like VTRACK_ARCHIVE_RESERVE_GB and the disks' own labels.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from vtrack.archive.errors import ArchiveFullError, ArchiveUnavailableError
from vtrack.settings import Settings

log = logging.getLogger(__name__)

GB = 10**9
PROBE_PREFIX = ".vtrack-probe-"
RECHECK_SECONDS = 1.0


class VfsStats(Protocol):
    """The statvfs fields used here; os.statvfs_result has them, and so can a test's fake."""

    @property
    def f_frsize(self) -> int: ...
    @property
    def f_blocks(self) -> int: ...
    @property
    def f_bavail(self) -> int: ...
    @property
    def f_files(self) -> int: ...
    @property
    def f_favail(self) -> int: ...


StatVfs = Callable[[Path], VfsStats]


@dataclass
class _Allowance:
    """What ensure_room let through since its last look at the disk."""

    checked_at: float
    status: DiskStatus
    bytes: int = 0
    files: int = 0


@dataclass(frozen=True)
class DiskStatus:
    root: Path
    exists: bool
    writable: bool
    free_bytes: int | None  # what an unprivileged writer may use (f_bavail), None when unknown
    total_bytes: int | None
    free_inodes: int | None  # None where the filesystem has no inode limit (btrfs reports 0 files)
    reserve_bytes: int
    reserve_inodes: int
    ok: bool
    problem: str | None


def format_size(size: int) -> str:
    return f"{size / GB:.1f} GB" if size >= GB // 10 else f"{size / 10**6:.0f} MB"


class DiskGuard:
    def __init__(
        self, root: Path, reserve_bytes: int, reserve_inodes: int, statvfs: StatVfs = os.statvfs
    ) -> None:
        self.root = root
        self.reserve_bytes = reserve_bytes
        self.reserve_inodes = reserve_inodes
        self._statvfs = statvfs
        self._allowance: _Allowance | None = None

    @classmethod
    def from_settings(cls, settings: Settings, statvfs: StatVfs = os.statvfs) -> DiskGuard:
        return cls(
            settings.resolved_archive_dir,
            reserve_bytes=int(settings.archive_reserve_gb * GB),
            reserve_inodes=settings.archive_reserve_inodes,
            statvfs=statvfs,
        )

    async def check(self) -> DiskStatus:
        return await asyncio.to_thread(self._check)

    async def ensure_room(self, expected_bytes: int = 0) -> None:
        """Raise unless `expected_bytes` more still leaves the reserve free (and the root is usable).

        ArchiveUnavailableError: missing or read-only root; ArchiveFullError: below the reserve. Both
        carry the sentence to show the user, so the sync engine can pause with it as its state.
        """
        if self._allowed(expected_bytes):
            return
        try:
            status = await self.check()
            self._raise_unless_room(status, expected_bytes)
        except (ArchiveUnavailableError, ArchiveFullError) as exc:
            self._allowance = None
            log.warning("%s", exc.message)
            raise
        self._allowance = _Allowance(time.monotonic(), status, expected_bytes, 1)

    def _allowed(self, expected_bytes: int) -> bool:
        """Room by the last look at the disk, less what was let through since (then counted too)."""
        allowance = self._allowance
        if allowance is None or time.monotonic() - allowance.checked_at > RECHECK_SECONDS:
            return False
        free, inodes = allowance.status.free_bytes, allowance.status.free_inodes
        if free is not None and free - allowance.bytes - expected_bytes < self.reserve_bytes:
            return False
        if inodes is not None and inodes - allowance.files - 1 < self.reserve_inodes:
            return False
        allowance.bytes += expected_bytes
        allowance.files += 1
        return True

    def _raise_unless_room(self, status: DiskStatus, expected_bytes: int) -> None:
        if not (status.exists and status.writable):
            raise ArchiveUnavailableError(status.problem or f"archive directory {self.root} is unusable")
        if status.free_bytes is not None and status.free_bytes - expected_bytes < self.reserve_bytes:
            if status.free_bytes < self.reserve_bytes:
                message = self._below_reserve(status.free_bytes)
            else:
                message = (
                    f"archive disk has {format_size(status.free_bytes)} free; "
                    f"{format_size(expected_bytes)} more would go below the "
                    f"{self.reserve_bytes / GB:.1f} GB reserve (VTRACK_ARCHIVE_RESERVE_GB)"
                )
            raise ArchiveFullError(
                message,
                {
                    "freeBytes": status.free_bytes,
                    "reserveBytes": self.reserve_bytes,
                    "expectedBytes": expected_bytes,
                },
            )
        if status.free_inodes is not None and status.free_inodes < self.reserve_inodes:
            raise ArchiveFullError(
                self._below_inodes(status.free_inodes),
                {"freeInodes": status.free_inodes, "reserveInodes": self.reserve_inodes},
            )

    def _check(self) -> DiskStatus:
        exists = self.root.is_dir()
        problem: str | None = None
        writable = False
        free_bytes = total_bytes = free_inodes = None
        if not exists:
            what = "is not a directory" if self.root.exists() else "does not exist"
            problem = f"archive directory {self.root} {what}"
        else:
            writable, problem = self._probe_write()
            try:
                stats = self._statvfs(self.root)
            except OSError as exc:
                problem = problem or f"cannot read free space of {self.root}: {exc.strerror or exc}"
            else:
                free_bytes = stats.f_bavail * stats.f_frsize
                total_bytes = stats.f_blocks * stats.f_frsize
                free_inodes = stats.f_favail if stats.f_files > 0 else None
        if problem is None and free_bytes is not None and free_bytes < self.reserve_bytes:
            problem = self._below_reserve(free_bytes)
        if problem is None and free_inodes is not None and free_inodes < self.reserve_inodes:
            problem = self._below_inodes(free_inodes)
        if problem is not None:
            log.debug("%s", problem)  # polled by the UI; ensure_room warns when it actually refuses
        return DiskStatus(
            root=self.root,
            exists=exists,
            writable=writable,
            free_bytes=free_bytes,
            total_bytes=total_bytes,
            free_inodes=free_inodes,
            reserve_bytes=self.reserve_bytes,
            reserve_inodes=self.reserve_inodes,
            ok=problem is None,
            problem=problem,
        )

    def _probe_write(self) -> tuple[bool, str | None]:
        """Write and remove a small file: permissions, read-only remounts and ACLs all show up here."""
        try:
            fd, name = tempfile.mkstemp(prefix=PROBE_PREFIX, dir=self.root)
        except OSError as exc:
            return False, f"archive directory {self.root} is not writable: {exc.strerror or exc}"
        try:
            os.write(fd, b"vtrack")
        except OSError as exc:
            return False, f"archive directory {self.root} is not writable: {exc.strerror or exc}"
        finally:
            os.close(fd)
            Path(name).unlink(missing_ok=True)
        return True, None

    def _below_reserve(self, free_bytes: int) -> str:
        return (
            f"archive disk has {format_size(free_bytes)} free, below the "
            f"{self.reserve_bytes / GB:.1f} GB reserve (VTRACK_ARCHIVE_RESERVE_GB)"
        )

    def _below_inodes(self, free_inodes: int) -> str:
        return (
            f"archive disk has {free_inodes} free inodes, below the "
            f"{self.reserve_inodes} reserve (VTRACK_ARCHIVE_RESERVE_INODES)"
        )

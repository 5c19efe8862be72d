"""Archive failures, as domain errors so the sync engine can record them and the API can show them."""

from __future__ import annotations

from vtrack.errors import DomainError


class ArchiveError(DomainError):
    code = "archive_error"


class ArchivePathError(ArchiveError):
    """A path would leave the archive root (traversal, absolute path, a symlink pointing out)."""

    code = "archive_path"


class ArchiveUnavailableError(ArchiveError):
    """The archive root is missing, not a directory, or not writable: syncing would fail on every file."""

    code = "archive_unavailable"


class ArchiveFullError(ArchiveError):
    """Free space or inodes are below the reserve: sync pauses before the disk fills for everyone."""

    code = "archive_full"

"""Archive responses: the working directory's health, as the seeds' PathValidator reported it."""

from __future__ import annotations

from datetime import datetime

from vtrack.api.envelope import ApiModel
from vtrack.archive.disk import GB, DiskStatus


class ArchiveHealthOut(ApiModel):
    root: str
    exists: bool
    writable: bool
    free_bytes: int | None
    total_bytes: int | None
    free_inodes: int | None
    reserve_bytes: int
    reserve_gb: float
    reserve_inodes: int
    ok: bool
    problem: str | None
    checked_at: datetime

    @classmethod
    def of(cls, status: DiskStatus, checked_at: datetime) -> ArchiveHealthOut:
        return cls(
            root=str(status.root),
            exists=status.exists,
            writable=status.writable,
            free_bytes=status.free_bytes,
            total_bytes=status.total_bytes,
            free_inodes=status.free_inodes,
            reserve_bytes=status.reserve_bytes,
            reserve_gb=status.reserve_bytes / GB,
            reserve_inodes=status.reserve_inodes,
            ok=status.ok,
            problem=status.problem,
            checked_at=checked_at,
        )

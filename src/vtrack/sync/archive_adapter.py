"""The sync engine's view of the archive (vtrack.archive): layout, disk guard, atomic commit, retention."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from vtrack.archive.atomic import cleanup_partials, commit_partial, discard_partial, partial_path, sha256_file
from vtrack.archive.disk import DiskGuard
from vtrack.archive.layout import ArchiveLayout
from vtrack.archive.retention import ArchivedFile, apply_retention, plan_retention
from vtrack.db.models import Camera, DownloadedFile, VideoSource
from vtrack.db.types import utcnow
from vtrack.sync.plan import Chunk

STALE_PART = timedelta(minutes=10)
GB = 10**9


class LocalArchive:
    def __init__(
        self,
        layout: ArchiveLayout,
        guard: DiskGuard,
        *,
        max_age: timedelta | None = None,
        max_bytes_per_camera: int | None = None,
    ) -> None:
        self.layout = layout
        self.guard = guard
        self.max_age = max_age
        self.max_bytes = max_bytes_per_camera

    def final_path(self, source: VideoSource, camera: Camera, chunk: Chunk) -> Path:
        return self.layout.path_for(source.name, camera.name, chunk.start, chunk.end)

    def relative(self, path: Path) -> str:
        return self.layout.relative(path)

    def resolve(self, relative: str) -> Path:
        return self.layout.resolve(relative)

    async def ensure_room(self, expected_bytes: int) -> None:
        await self.guard.ensure_room(expected_bytes)

    async def part_path(self, final: Path) -> Path:
        await asyncio.to_thread(final.parent.mkdir, mode=0o750, parents=True, exist_ok=True)
        return partial_path(final)

    async def commit(self, part: Path, final: Path) -> str:
        """Hash, then rename into place (fsynced): the file at `final` is whole or absent."""
        digest = await asyncio.to_thread(sha256_file, part)
        await asyncio.to_thread(commit_partial, part, final)
        return digest

    async def discard(self, part: Path) -> None:
        await asyncio.to_thread(discard_partial, part)

    async def apply_retention(self, camera: Camera, files: list[DownloadedFile]) -> list[str]:
        """Only files the index knows (state done) are ever deleted; one already gone counts as deleted.

        The camera's own limits, where set, win over the defaults.
        """
        max_age = (
            timedelta(days=camera.retention_max_age_days) if camera.retention_max_age_days else self.max_age
        )
        max_bytes = int(camera.retention_max_gb * GB) if camera.retention_max_gb else self.max_bytes
        if max_age is None and max_bytes is None:
            return []
        archived = [
            ArchivedFile(f.id, f.path, f.size_bytes or 0, f.range_start, f.range_end)
            for f in files
            if f.state == "done"
        ]
        doomed = set(plan_retention(archived, utcnow(), max_age, max_bytes))
        result = await apply_retention(self.layout, [f for f in archived if f.id in doomed])
        return list(result.deleted)

    async def cleanup(self, source: VideoSource, cameras: list[Camera]) -> int:
        """`.part` files untouched for a while are a killed run's; a live download writes to its own."""

        def sweep() -> int:
            dirs = (self.layout.camera_dir(source.name, camera.name) for camera in cameras)
            return sum(len(cleanup_partials(d, older_than=STALE_PART)) for d in dirs if d.is_dir())

        return await asyncio.to_thread(sweep)

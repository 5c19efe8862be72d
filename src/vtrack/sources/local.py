"""A folder on this machine (or a mounted share) as a source: the simplest connector, and the reference.

Files still being written (modified in the last `settle` seconds) are left for the next listing, so a
camera's FTP upload is not archived half-way.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from vtrack.sources.base import ChangePage, RateLimit, RemoteFile, after_watermark, is_video, watermark

_CHUNK = 1024 * 1024


class LocalFolderConnector:
    rate_limit = RateLimit(requests_per_second=1000.0, concurrent_downloads=4)

    def __init__(self, root: Path, *, settle: timedelta = timedelta(seconds=30)) -> None:
        self.root = root
        self.settle = settle

    def _scan(self) -> list[RemoteFile]:
        if not self.root.is_dir():
            raise FileNotFoundError(f"source folder {self.root} does not exist")
        newest = datetime.now(UTC) - self.settle
        found = []
        for folder, _dirs, names in os.walk(self.root):
            for name in names:
                path = Path(folder, name)
                if name.startswith(".") or not is_video(name):
                    continue
                stat = path.stat()
                modified = datetime.fromtimestamp(stat.st_mtime, UTC)
                if modified > newest:
                    continue
                relative = path.relative_to(self.root).as_posix()
                found.append(RemoteFile(relative, relative, stat.st_size, modified))
        return sorted(found, key=lambda f: (f.modified.isoformat(), f.id))

    async def changes(self, cursor: str | None, page_size: int = 1000) -> ChangePage:
        files = [f for f in await asyncio.to_thread(self._scan) if after_watermark(f, cursor)]
        page = files[:page_size]
        next_cursor = watermark(page[-1]) if page else (cursor or "")
        return ChangePage(page, next_cursor, has_more=len(files) > page_size)

    async def open(self, file: RemoteFile, offset: int = 0) -> AsyncIterator[bytes]:
        path = (self.root / file.id).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise PermissionError(f"{file.id} is outside the source folder")
        handle = await asyncio.to_thread(path.open, "rb")
        try:
            await asyncio.to_thread(handle.seek, offset)
            while chunk := await asyncio.to_thread(handle.read, _CHUNK):
                yield chunk
        finally:
            await asyncio.to_thread(handle.close)

    async def refresh(self) -> None:
        return None

    async def close(self) -> None:
        return None

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

from vtrack.devices.errors import DeviceError
from vtrack.sources.base import ChangePage, Folder, RateLimit, RemoteFile, is_video

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
        """One page of a full scan (the cursor is the offset into it); the engine's index decides novelty."""
        offset = int(cursor) if cursor and cursor.isdigit() else 0
        files = await asyncio.to_thread(self._scan)
        end = offset + page_size
        more = len(files) > end
        return ChangePage(files[offset:end], str(end) if more else "", has_more=more)

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

    async def account(self) -> str:
        """The connection test: the folder exists and can be read."""
        readable = await asyncio.to_thread(
            lambda: self.root.is_dir() and os.access(self.root, os.R_OK | os.X_OK)
        )
        if not readable:
            raise DeviceError(f"{self.root} is not a readable folder on the server", "not_found")
        return str(self.root)

    async def list_folders(self, parent: str | None) -> list[Folder]:
        base = (self.root / (parent or "")).resolve()
        if not base.is_relative_to(self.root.resolve()):
            raise DeviceError(f"{parent} is outside the source folder", "not_found")

        def scan() -> list[Folder]:
            entries = sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))
            return [
                Folder(
                    p.relative_to(self.root.resolve()).as_posix(),
                    p.name,
                    p.relative_to(self.root.resolve()).as_posix(),
                    any(c.is_dir() for c in p.iterdir()),
                )
                for p in entries
            ]

        try:
            return await asyncio.to_thread(scan)
        except OSError as exc:
            raise DeviceError(f"{base}: {exc.strerror or exc}", "not_found") from None

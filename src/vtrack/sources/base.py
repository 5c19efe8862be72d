"""The one interface every cloud or folder connector implements, so step 4's sync engine drives them all.

- `changes(cursor)`: what is new or changed since a cursor the connector gave earlier (None: everything),
  one page at a time, with the cursor to save after the page is archived. Providers with a real change
  feed (Dropbox, Graph delta, Drive changes) map onto it directly. Listing-only stores (a folder, S3)
  page through a full listing each run and leave novelty to the sync engine's index (id, size, hash):
  a time watermark would miss files written in the same second as it.
- `open(file, offset)`: the file's bytes from `offset`, so a cut download resumes where it stopped.
- `refresh()`: renew short-lived credentials (OAuth access tokens); a no-op for keys that do not expire.
- `rate_limit`: what the provider allows, for the engine's pacing and its backoff on 429 / Retry-After.
Only video files are offered (by extension and, where the provider says, by content type).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import Protocol, runtime_checkable

VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".mkv", ".mov", ".avi", ".ts", ".m4v", ".dav", ".h264", ".h265", ".flv"}
)


def is_video(name: str, content_type: str | None = None) -> bool:
    if content_type and content_type.split(";")[0].strip().lower().startswith("video/"):
        return True
    return PurePosixPath(name).suffix.lower() in VIDEO_EXTENSIONS


@dataclass(frozen=True)
class RemoteFile:
    id: str  # the provider's stable id (S3 key, Drive file id, path for a folder)
    path: str  # display path below the source's root, "/"-separated
    size: int
    modified: datetime  # aware UTC
    content_hash: str | None = None  # ETag, content_hash, md5Checksum: what the provider gives
    content_type: str | None = None
    recorded_start: datetime | None = None  # camera clouds: when the recording begins (its MP4's time zero)


@dataclass(frozen=True)
class ChangePage:
    files: list[RemoteFile]
    cursor: str  # save after this page is archived; pass it to the next changes()
    has_more: bool


@dataclass(frozen=True)
class RateLimit:
    requests_per_second: float
    concurrent_downloads: int


class Connector(Protocol):
    rate_limit: RateLimit

    async def changes(self, cursor: str | None, page_size: int = 1000) -> ChangePage: ...

    def open(self, file: RemoteFile, offset: int = 0) -> AsyncIterator[bytes]: ...

    async def refresh(self) -> None: ...

    async def close(self) -> None: ...

    async def account(self) -> str:
        """The connection test: who these credentials are (account, bucket, folder), or DeviceError."""
        ...


@dataclass(frozen=True)
class Folder:
    """One entry of the lazy folder tree a user picks what to sync from."""

    id: str  # what to pass back as `parent` (a path, or the provider's folder id)
    name: str
    path: str  # display path, "/"-separated
    has_children: bool | None = None  # None: unknown until opened


@runtime_checkable
class FolderBrowser(Protocol):
    async def list_folders(self, parent: str | None) -> list[Folder]: ...

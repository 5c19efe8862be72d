"""Blobs as files under one directory: the default, for a single box.

A put is atomic: the bytes go to a temporary file in the key's own directory (same file system), are
fsynced, and the file is renamed over the key with os.replace, so a reader sees the old blob or the new
one and never part of one, even after a crash. Files are 0640 whatever the umask: readable by a backup
or web-server group, never by everyone. Empty directories left by deletes are removed up to the root.
Unlike S3, a file system cannot hold both "cam" and "cam/1.jpg"; storing the second is a BlobStoreError.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from vtrack.blobstore.base import BlobNotFoundError, BlobStoreError, validate_key

log = logging.getLogger(__name__)

FILE_MODE = 0o640
DIR_MODE = 0o750
_CREATE_ATTEMPTS = 3  # a concurrent delete may remove the directory between mkdir and create


class LocalBlobStore:
    """Blobs as files under `root`; the content type is not kept (keys name their kind: .jpg)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_for(self, key: str) -> Path:
        return self.root.joinpath(*validate_key(key).split("/"))

    async def put(self, key: str, data: bytes, content_type: str) -> int:
        path = self.path_for(key)
        await asyncio.to_thread(self._write, key, path, bytes(data))
        return len(data)

    async def get(self, key: str) -> bytes:
        path = self.path_for(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise BlobNotFoundError(key) from None

    async def delete(self, key: str) -> bool:
        return await asyncio.to_thread(self._remove, self.path_for(key))

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path_for(key).is_file)

    async def delete_many(self, keys: Iterable[str]) -> None:
        paths = [self.path_for(key) for key in keys]  # every key checked before anything is removed
        await asyncio.to_thread(lambda: [self._remove(path) for path in paths])

    async def close(self) -> None:
        return None

    # -- blocking parts, run in a worker thread --------------------------------------------------

    def _write(self, key: str, path: Path, data: bytes) -> None:
        try:
            fd, tmp = _create_temp(path)
        except (FileExistsError, NotADirectoryError):
            blob = self._blob_above(key)
            if blob is None:
                raise
            raise BlobStoreError(f"cannot store {key!r}: {blob!r} is itself a blob, not a folder") from None
        try:
            os.fchmod(fd, FILE_MODE)  # the umask may have taken bits off the mode given to open
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        _fsync_dir(path.parent)

    def _blob_above(self, key: str) -> str | None:
        """The first leading part of `key` that is a file: on disk a key cannot be a blob and a folder."""
        segments = key.split("/")
        for end in range(1, len(segments)):
            if self.root.joinpath(*segments[:end]).is_file():
                return "/".join(segments[:end])
        return None

    def _remove(self, path: Path) -> bool:
        try:
            path.unlink()
        except (FileNotFoundError, NotADirectoryError):
            return False
        except IsADirectoryError:
            return False  # a key that is only a prefix of others names no blob
        self._prune(path.parent)
        return True

    def _prune(self, directory: Path) -> None:
        """Remove now-empty directories from `directory` up to (not including) the root."""
        root = self.root
        while directory != root and root in directory.parents:
            try:
                directory.rmdir()
            except OSError as exc:
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOENT):
                    log.debug("could not remove empty blob directory %s: %s", directory, exc)
                return
            directory = directory.parent


def _create_temp(path: Path) -> tuple[int, Path]:
    """An open, new temporary file beside `path` (same directory, so os.replace is a rename)."""
    attempts_left = _CREATE_ATTEMPTS
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE), tmp
        except FileNotFoundError:
            # A delete pruned the directory between mkdir and open: make it again.
            pass
        except FileExistsError:
            # pathlib's mkdir(exist_ok=True) raises this when a concurrent prune removes the directory
            # between its own mkdir and its is_dir() check; a file in the way is a real error.
            if any(parent.is_file() for parent in (path.parent, *path.parent.parents)):
                raise
        attempts_left -= 1
        if attempts_left == 0:
            raise BlobStoreError(f"could not create {path.parent} against concurrent deletes")


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable: without it a crash can bring back the old blob, or none."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

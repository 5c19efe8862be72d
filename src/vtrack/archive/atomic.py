"""Files appear at their final path complete or not at all.

A download is written to `.{name}.{token}.part` in the final directory (same filesystem, so the rename is
atomic), fsynced, then renamed over the final name, and the directory fsynced so the rename survives a
power cut. A failure removes the temp file; a killed process leaves it, hidden by its leading dot, for
`cleanup_partials` at the next start. So a reader (a person browsing, analytics, retention) never sees
half a recording under a real name.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import logging
import os
import re
import secrets
import stat
import sys
import time
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from vtrack.archive.layout import DIR_MODE

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
_LIBC = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True) if sys.platform == "linux" else None
_PARTIAL = re.compile(r"^\..+\.[0-9a-f]{16}\.part$")


def partial_path(final: Path) -> Path:
    return final.with_name(f".{final.name}.{secrets.token_hex(8)}.part")


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def commit_partial(temp: Path, final: Path) -> None:
    """Make a finished `partial_path` file `final`: fsync it, rename it over `final`, fsync the folder."""
    _fsync_path(temp)
    os.replace(temp, final)
    _fsync_path(final.parent)


def rename_partial(temp: Path, final: Path) -> None:
    """Rename without the fsyncs: for batches, made durable together by one `sync_filesystem` call.

    Whoever indexes the file must not record it as archived before that call returns.
    """
    os.replace(temp, final)


def sync_filesystem(path: Path) -> None:
    """syncfs(2) on `path`'s filesystem: one flush for a whole batch of files instead of two fsyncs each."""
    fd = os.open(path, os.O_RDONLY)
    try:
        syncfs = getattr(_LIBC, "syncfs", None)
        if syncfs is None:
            os.sync()
        elif syncfs(fd) != 0:
            error = ctypes.get_errno()
            raise OSError(error, os.strerror(error), str(path))
    finally:
        os.close(fd)


def start_writeback(fd: int) -> None:
    """sync_file_range(2) WRITE: the kernel starts writing the dirty pages now, without waiting.

    Called as a download goes, it overlaps the disk's work with the network's, so the batch's final
    `sync_filesystem` waits for the last megabytes only. A no-op where the call does not exist.
    """
    call = getattr(_LIBC, "sync_file_range", None)
    if call is not None:
        call(fd, ctypes.c_int64(0), ctypes.c_int64(0), 2)  # SYNC_FILE_RANGE_WRITE


def discard_partial(temp: Path) -> None:
    """Remove a failed write's temp file; never raises, as the failure that led here matters more."""
    try:
        temp.unlink(missing_ok=True)
    except OSError as exc:  # cleanup_partials gets it at the next start
        log.warning("archive: could not remove %s: %s", temp, exc)


class AtomicWriter:
    """A binary file for streamed writes that becomes `final` on a clean close, hashing as it goes.

    with AtomicWriter(final) as out:
        for chunk in response: out.write(chunk)
    row.sha256, row.size_bytes = out.sha256, out.size
    """

    def __init__(self, final: Path) -> None:
        self.final = final
        self.temp = partial_path(final)
        self.size = 0
        self._hash = hashlib.sha256()
        self._file: BinaryIO | None = None

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def __enter__(self) -> AtomicWriter:
        self.final.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        self._file = open(self.temp, "xb")  # closed in __exit__
        return self

    def write(self, data: bytes) -> int:
        if self._file is None:
            raise RuntimeError("AtomicWriter.write outside its with block")
        written = self._file.write(data)
        self._hash.update(data)
        self.size += written
        return written

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        file, self._file = self._file, None
        try:
            if file is not None:
                if kind is None:
                    file.flush()
                    os.fsync(file.fileno())
                file.close()
            if kind is None:
                os.replace(self.temp, self.final)
                _fsync_path(self.final.parent)
                return
        except BaseException:
            discard_partial(self.temp)
            raise
        discard_partial(self.temp)


def sha256_file(path: Path, chunk_size: int = CHUNK) -> str:
    """Streamed, so a multi-gigabyte recording is hashed in constant memory."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def cleanup_partials(directory: Path, older_than: timedelta) -> list[Path]:
    """Remove `.part` files a killed process left under `directory`; returns what was removed.

    Only names this module makes are touched, and only when untouched for `older_than`, so a download
    still running in another worker (its file's mtime moves with every write) is left alone.
    """
    cutoff = time.time() - older_than.total_seconds()
    removed: list[Path] = []
    for folder, _dirs, names in os.walk(directory):  # does not follow symlinked directories
        for name in names:
            if not _PARTIAL.match(name):
                continue
            path = Path(folder, name)
            try:
                info = path.lstat()
                if stat.S_ISREG(info.st_mode) and info.st_mtime < cutoff:
                    path.unlink()
                    removed.append(path)
            except FileNotFoundError:
                continue
            except OSError as exc:
                log.warning("archive: could not remove partial %s: %s", path, exc)
    if removed:
        log.info("archive: removed %s partial files under %s", len(removed), directory)
    return removed

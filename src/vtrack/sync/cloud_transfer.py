"""Moving one cloud file into the archive: resumable download, hash, optional HLS-to-MP4 remux, atomic commit.

The `.part` name is derived from the file's archive path (not random as for device chunks), so a run that
was cut, or an attempt that failed mid-way, finds the bytes already fetched and asks the provider only
for the rest (HTTP Range through `Connector.open(file, offset)`). It keeps the leading dot and the
16-hex-digit token of vtrack.archive.atomic, so the archive's sweep removes one that nobody resumes.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from vtrack.archive.atomic import discard_partial, rename_partial, sha256_file, start_writeback
from vtrack.archive.direct_io import BLOCK, DirectRefused, DirectStage
from vtrack.archive.layout import DIR_MODE, ArchiveLayout
from vtrack.archive.names import sanitise_name
from vtrack.devices.errors import DeviceError
from vtrack.media.remux import RemuxError, remux_file
from vtrack.sources.base import Connector, RemoteFile
from vtrack.sync.slots import LARGE_FROM

REMUXED = frozenset({".ts", ".m2ts", ".dav"})  # camera-cloud HLS (MPEG-TS) and Dahua files become MP4


@dataclass(frozen=True)
class Transferred:
    size_bytes: int
    sha256: str
    resumed_from: int = 0


class ArchivePaths:
    """{root}/{source}/{the file's folders and name below the synced root}, each part made safe.

    Paths are built lexically from sanitised parts (no separators, no "..") under the jailed source
    folder; each directory is then checked once per run against symlinks pointing out of the archive,
    rather than resolving every file's whole path (a page of a thousand clips shares a few folders).
    """

    def __init__(self, layout: ArchiveLayout, source_name: str) -> None:
        self.layout = layout
        self.source_dir = layout.source_dir(source_name)
        self._checked: set[Path] = set()

    def final(self, remote_path: str) -> Path:
        pieces = PurePosixPath(remote_path).parts
        parts = [sanitise_name(part) for part in pieces if part not in ("/", "", ".", "..")]
        if not parts:
            raise DeviceError(f"the provider gave an empty file path ({remote_path!r})", "protocol")
        path = self.source_dir.joinpath(*parts)
        if path.suffix.lower() in REMUXED:
            path = path.with_suffix(".mp4")
        if path.parent not in self._checked:
            self.layout.resolve(self.relative(path.parent))  # raises ArchivePathError if it escapes
            self._checked.add(path.parent)
        return path

    def relative(self, path: Path) -> str:
        return path.relative_to(self.layout.root).as_posix()


def resume_path(final: Path) -> Path:
    token = hashlib.sha256(final.name.encode()).hexdigest()[:16]
    return final.with_name(f".{final.name}.{token}.part")


_FILE_MODE = 0o666  # less the umask, as open() makes files


class _PartWriter:
    """Appends to the `.part` and hashes as it goes, in whichever worker thread calls it.

    A resumed part is hashed from its start on the first write, so the digest is always the whole file's
    and nothing is read twice for a fresh download. Plain file descriptors, and the folder made only
    when the open finds it missing: every system call here also hands the GIL to the event loop and
    back, so a clip's write is three calls and a rename rather than the nine of a buffered file.

    A large file (`direct`) goes around the page cache with O_DIRECT (vtrack.archive.direct_io), where
    the filesystem allows it and the `.part` ends on a block boundary; otherwise it is written buffered
    and starts the disk writing as it goes, so the batch's final sync waits for its last megabytes only.
    Smaller files are left to that sync, which submits a whole batch's pages at once (a writeback call
    per clip cost 40 % more CPU on a thousand 64 KiB clips).
    """

    def __init__(self, part: Path, offset: int, *, direct: bool = False) -> None:
        self.part = part
        self.offset = offset
        self.size = offset
        self.digest = hashlib.sha256()
        self.started = False
        self.stage = DirectStage() if direct and offset % BLOCK == 0 else None

    def write(self, chunks: list[bytes], *, last: bool = False) -> None:
        if not self.started:
            if self.offset:
                with self.part.open("rb") as existing:
                    while block := existing.read(1 << 20):
                        self.digest.update(block)
            self.started = True
        for chunk in chunks:
            self.digest.update(chunk)
            self.size += len(chunk)
        if self.stage is not None:
            try:
                tail = self.stage.append(self._open, chunks, last=last)
            except DirectRefused as refused:  # written buffered from here on
                self.close()
                self.stage, chunks = None, refused.left
            else:
                if not tail:
                    return
                chunks = [tail]
        self._append(chunks)

    def _append(self, chunks: list[bytes]) -> None:
        fd = self._open()
        try:
            for chunk in chunks:
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view) :]
            if self.size >= LARGE_FROM and self.stage is None:
                start_writeback(fd)
        finally:
            os.close(fd)

    def _open(self, extra: int = 0) -> int:
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC | extra
        try:
            return os.open(self.part, flags, _FILE_MODE)
        except FileNotFoundError:
            self.part.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
            return os.open(self.part, flags, _FILE_MODE)

    def finish(self, chunks: list[bytes], final: Path | None) -> str:
        """The last bytes, then (for a file kept as it is) the rename; durable at the batch's sync."""
        self.write(chunks, last=True)
        self.close()
        if final is not None:
            rename_partial(self.part, final)
        return self.digest.hexdigest()

    def close(self) -> None:
        if self.stage is not None:
            self.stage.close()


def resume_offset(final: Path, size: int) -> int:
    """Bytes of `final` an earlier attempt left in its `.part` (0: none, or not this version's)."""
    part = resume_path(final)
    try:
        have = part.stat().st_size
    except FileNotFoundError:
        return 0
    if size and have > size:  # not this version's bytes: start over
        discard_partial(part)
        return 0
    return have


async def download(
    connector: Connector,
    file: RemoteFile,
    final: Path,
    progress: Callable[[int], Awaitable[None]],
    offset: int | None = None,
) -> Transferred:
    """Fetch `file` to `final` (resuming a `.part` left before); whole at `final`, or not there at all.

    `offset` is `resume_offset(final, file.size)` when the caller already looked (the engine does, for a
    batch of files in one worker-thread call). The rename is not fsynced here: the engine makes a batch
    of files durable with one filesystem sync before their rows say `done`.
    """
    part = resume_path(final)
    if offset is None:
        offset = await asyncio.to_thread(resume_offset, final, file.size)
    writer = _PartWriter(part, offset, direct=file.size >= LARGE_FROM)
    received = offset
    pending: list[bytes] = []
    pending_bytes = 0
    async for chunk in connector.open(file, offset):
        pending.append(chunk)
        pending_bytes += len(chunk)
        received += len(chunk)
        if pending_bytes >= 1 << 20:  # write in megabytes: one thread hop per MB, not per packet
            await asyncio.to_thread(writer.write, pending)
            pending, pending_bytes = [], 0
            await progress(received)
    if file.size and received != file.size:
        await asyncio.to_thread(writer.write, pending, last=True)
        writer.close()
        if received > file.size:
            await asyncio.to_thread(discard_partial, part)
        raise DeviceError(f"{file.path}: got {received} bytes of {file.size}", "protocol")
    remux = final.suffix == ".mp4" and PurePosixPath(file.path).suffix.lower() in REMUXED
    digest = await asyncio.to_thread(writer.finish, pending, None if remux else final)
    await progress(received)
    if remux:
        return await _remux_commit(part, final, offset, file.recorded_start or file.modified)
    return Transferred(received, digest, offset)


async def _remux_commit(part: Path, final: Path, offset: int, start: datetime) -> Transferred:
    mp4 = final.with_name(f".{final.name}.{os.urandom(8).hex()}.part")
    try:
        await asyncio.to_thread(remux_file, part, mp4, start=start)
    except RemuxError as error:
        await asyncio.to_thread(discard_partial, mp4)
        await asyncio.to_thread(discard_partial, part)  # refetching the same bytes would fail the same way
        raise DeviceError(str(error), "protocol") from None
    digest = await asyncio.to_thread(sha256_file, mp4)
    size = (await asyncio.to_thread(mp4.stat)).st_size
    await asyncio.to_thread(rename_partial, mp4, final)
    await asyncio.to_thread(discard_partial, part)
    return Transferred(size, digest, offset)


def link_copy(existing: Path, final: Path) -> None:
    """An identical file already archived: a hard link (no bytes), or a copy across filesystems."""
    final.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    temp = final.with_name(f".{final.name}.{os.urandom(8).hex()}.part")
    try:
        os.link(existing, temp)
    except OSError:
        shutil.copyfile(existing, temp)
    rename_partial(temp, final)


def move(existing: Path, final: Path) -> None:
    """The provider moved or renamed the file: so does the archive (same filesystem, atomic)."""
    final.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    os.replace(existing, final)

"""Writing large files around the page cache (O_DIRECT), for bulk ingest into the archive.

A large recording copied into the archive is not read again soon, yet buffered writes first fill the
page cache with it: on the cloud benchmark's VM, writing 200 MB that way cost 0.12-0.56 s of kernel CPU
(fresh pages fault in the host) against 0.01 s with O_DIRECT, and it evicts pages the database and the
analytics would rather keep. O_DIRECT wants the buffer's address, the file offset and the length all
aligned, so bytes are gathered in a page-aligned stage and written a whole stage at a time; a file's
last partial block goes through the page cache as usual. Durability is unchanged: the archive's batch
sync still commits the file's metadata and the device's cache.
"""

from __future__ import annotations

import errno
import mmap
import os
from collections.abc import Callable

BLOCK = 4096  # the page size and the largest logical block size in use: alignment for both
STAGE = 1 << 20


class DirectRefused(Exception):  # noqa: N818  (an outcome the caller handles, not an error to report)
    """This filesystem does not do O_DIRECT (tmpfs, some FUSE): `left` still has to be written."""

    def __init__(self, left: list[bytes]) -> None:
        super().__init__("O_DIRECT refused")
        self.left = left


def _refused(error: OSError) -> bool:
    return error.errno == errno.EINVAL


class DirectStage:
    """Bytes gathered in a page-aligned buffer and appended in whole stages with O_DIRECT."""

    def __init__(self, capacity: int = STAGE) -> None:
        self.buffer = mmap.mmap(-1, capacity)  # anonymous maps are page-aligned
        self.held = 0

    def append(self, open_fd: Callable[[int], int], chunks: list[bytes], *, last: bool = False) -> bytes:
        """Stage `chunks`, write every full stage (and with `last`, every whole block held) to the file.

        `open_fd(flags)` opens the file for appending with these extra flags (the caller knows where and
        how to create it); the file's length must be a multiple of BLOCK.

        Returns the bytes to append through the page cache after them: with `last`, the final partial
        block; otherwise nothing. Raises DirectRefused, carrying every byte not yet written, when the
        filesystem refuses O_DIRECT; nothing is lost or written twice.
        """
        try:
            fd = open_fd(os.O_DIRECT)
        except OSError as error:
            if _refused(error):
                raise DirectRefused([self._take(), *chunks]) from None
            raise
        try:
            for at, chunk in enumerate(chunks):
                view = memoryview(chunk)
                while view:
                    taken = min(len(view), len(self.buffer) - self.held)
                    self.buffer[self.held : self.held + taken] = view[:taken]
                    self.held += taken
                    view = view[taken:]
                    if self.held == len(self.buffer):
                        self._write(fd, self.held, [bytes(view), *chunks[at + 1 :]])
            if last:
                whole = self.held - self.held % BLOCK
                if whole:
                    self._write(fd, whole, [])
                return self._take()
            return b""
        finally:
            os.close(fd)

    def _write(self, fd: int, length: int, rest: list[bytes]) -> None:
        """Write the stage's first `length` bytes (whole blocks) and keep what follows them staged."""
        done = 0
        try:
            while done < length:  # a short write still ends on a block boundary
                done += os.write(fd, memoryview(self.buffer)[done:length])
        except OSError as error:
            if _refused(error) and done == 0:
                raise DirectRefused([self._take(), *rest]) from None
            raise
        tail = self.held - length
        self.buffer.move(0, length, tail)
        self.held = tail

    def _take(self) -> bytes:
        held, self.held = self.buffer[: self.held], 0
        return held

    def close(self) -> None:
        self.buffer.close()

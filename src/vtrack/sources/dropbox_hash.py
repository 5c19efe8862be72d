"""Dropbox's `content_hash`: SHA-256 over the concatenated SHA-256 digests of each 4 MiB block.

https://www.dropbox.com/developers/reference/content-hash: split the content into 4,194,304-byte blocks
(the last may be shorter), hash each block with SHA-256, concatenate the binary digests and hash that
with SHA-256; the hex of the result is what file metadata carries. An empty file has no blocks, so its
hash is SHA-256 of nothing. Incremental, so a download is checked as it streams, whatever its chunking.
"""

from __future__ import annotations

import hashlib

BLOCK_SIZE = 4 * 1024 * 1024


class DropboxContentHasher:
    def __init__(self) -> None:
        self._overall = hashlib.sha256()
        self._block = hashlib.sha256()
        self._in_block = 0  # bytes of the current block hashed so far

    def update(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data)
        while view:
            take = min(BLOCK_SIZE - self._in_block, len(view))
            self._block.update(view[:take])
            self._in_block += take
            view = view[take:]
            if self._in_block == BLOCK_SIZE:
                self._overall.update(self._block.digest())
                self._block = hashlib.sha256()
                self._in_block = 0

    def hexdigest(self) -> str:
        """The hash of everything so far; more data may still be added afterwards."""
        overall = self._overall.copy()
        if self._in_block:
            overall.update(self._block.digest())
        return overall.hexdigest()


def content_hash(data: bytes | bytearray | memoryview) -> str:
    hasher = DropboxContentHasher()
    hasher.update(data)
    return hasher.hexdigest()

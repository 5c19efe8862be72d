"""What every blob store offers, and the one set of rules for keys that all of them enforce.

Keys are `/`-separated relative paths ("snapshots/12/2024-05-01/0930.jpg"). The rules are strict on
every backend, not only where a key becomes a file path, so a key that works in development on local
disk cannot fail (or escape the blob root) after a switch to S3, or the other way round.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

MAX_KEY_LENGTH = 1024  # S3's limit, in UTF-8 bytes


class BlobStoreError(OSError):
    """The store failed an operation (unreachable, access denied, no such bucket): an I/O error like the
    OSError a local disk raises, so callers handle both with one `except OSError`."""


class BlobNotFoundError(LookupError):
    """No blob is stored under the key."""

    def __init__(self, key: str) -> None:
        super().__init__(f"no blob stored under {key!r}")
        self.key = key


@runtime_checkable
class BlobStore(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> int:
        """Store `data` under `key` (replacing any blob there) and return its size in bytes."""
        ...

    async def get(self, key: str) -> bytes:
        """The blob's bytes; BlobNotFoundError when there is none."""
        ...

    async def delete(self, key: str) -> bool:
        """Remove the blob; False when there was none."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def delete_many(self, keys: Iterable[str]) -> None:
        """Remove every blob named; keys with no blob are skipped, not an error."""
        ...

    async def close(self) -> None:
        """Release connections; the store is not used afterwards."""
        ...


def validate_key(key: str) -> str:
    """`key` unchanged when it is a safe relative key; ValueError saying what is wrong with it."""
    if not isinstance(key, str) or not key:
        raise ValueError("a blob key must be a non-empty string")
    if "\x00" in key:
        raise ValueError(f"blob key {key!r} contains a NUL byte")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in key):
        raise ValueError(f"blob key {key!r} contains a control character")
    if "\\" in key:
        raise ValueError(f"blob key {key!r} contains a backslash; use '/' between segments")
    if key.startswith("/"):
        raise ValueError(f"blob key {key!r} is absolute; keys are relative to the store")
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_LENGTH:
        raise ValueError(f"blob key is longer than {MAX_KEY_LENGTH} bytes")
    for segment in key.split("/"):
        if not segment:
            raise ValueError(f"blob key {key!r} has an empty segment ('//' or a trailing '/')")
        if segment == "..":
            raise ValueError(f"blob key {key!r} contains '..' (path traversal)")
        if segment == ".":
            raise ValueError(f"blob key {key!r} contains a '.' segment")
        if segment.startswith("."):
            raise ValueError(f"blob key {key!r}: segments starting with '.' are reserved for temporary files")
    return key

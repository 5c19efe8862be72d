"""The local store's own promises: a jail under its root, atomic replacement, 0640 files."""

from __future__ import annotations

import asyncio
import os
import stat
import threading
from pathlib import Path

import pytest

from vtrack.blobstore import BlobStoreError, LocalBlobStore
from vtrack.blobstore.local import FILE_MODE


def all_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize(
    "key", ["../escaped", "a/../../escaped", "/tmp/escaped", "a\\..\\..\\escaped", "a/../b", "..\x00/x"]
)
async def test_traversal_never_touches_anything_outside_the_root(tmp_path: Path, key: str) -> None:
    store = LocalBlobStore(tmp_path / "root" / "blobs")
    with pytest.raises(ValueError, match="blob key"):
        await store.put(key, b"x", "text/plain")
    assert all_files(tmp_path) == []


async def test_keys_map_to_paths_under_the_root(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    await store.put("snapshots/7/2024-05-01/0930.jpg", b"jpeg", "image/jpeg")
    assert (tmp_path / "snapshots/7/2024-05-01/0930.jpg").read_bytes() == b"jpeg"
    assert store.path_for("a/b") == tmp_path / "a" / "b"


async def test_files_are_0640_whatever_the_umask(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    previous = os.umask(0o077)
    try:
        await store.put("a.jpg", b"1", "image/jpeg")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "a.jpg").stat().st_mode) == FILE_MODE == 0o640


async def test_a_put_leaves_no_temporary_file(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    for i in range(5):
        await store.put("cam/1.jpg", str(i).encode(), "image/jpeg")
    assert all_files(tmp_path) == ["cam/1.jpg"]


async def test_readers_never_see_a_partial_blob(tmp_path: Path) -> None:
    """A writer alternates two 2 MB blobs under one key while a reader reads it as fast as it can:
    every read must be all of one or all of the other (a plain write would show short or mixed data)."""
    store = LocalBlobStore(tmp_path)
    size = 2 * 1024 * 1024
    versions = [b"A" * size, b"B" * size]
    await store.put("live.jpg", versions[0], "image/jpeg")
    path = store.path_for("live.jpg")
    done = threading.Event()
    seen: list[bytes] = []

    def read_until_done() -> None:
        while not done.is_set():
            data = path.read_bytes()
            if data not in versions:
                seen.append(data[:16] + b"..." + data[-16:] + f" ({len(data)} bytes)".encode())

    reader = asyncio.create_task(asyncio.to_thread(read_until_done))
    try:
        for i in range(30):
            await store.put("live.jpg", versions[i % 2], "image/jpeg")
    finally:
        done.set()
        await reader
    assert seen == []


async def test_a_crashed_write_is_invisible(tmp_path: Path) -> None:
    """What a crash between create and rename leaves: a dot-named temporary file, which no key names."""
    store = LocalBlobStore(tmp_path)
    await store.put("cam/1.jpg", b"old", "image/jpeg")
    (tmp_path / "cam" / ".1.jpg.0123abcd.tmp").write_bytes(b"half of the n")
    assert await store.get("cam/1.jpg") == b"old"
    with pytest.raises(ValueError, match="reserved"):
        await store.get("cam/.1.jpg.0123abcd.tmp")


async def test_delete_prunes_empty_directories_but_keeps_the_root(tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    store = LocalBlobStore(root)
    await store.put("snapshots/7/day1/a.jpg", b"1", "image/jpeg")
    await store.put("snapshots/7/day2/b.jpg", b"2", "image/jpeg")
    assert await store.delete("snapshots/7/day1/a.jpg")
    assert not (root / "snapshots/7/day1").exists() and (root / "snapshots/7/day2").is_dir()
    await store.delete_many(["snapshots/7/day2/b.jpg"])
    assert root.is_dir() and list(root.iterdir()) == []


async def test_put_beside_a_concurrent_delete_of_the_same_directory(tmp_path: Path) -> None:
    """Deletes prune the directory a put is about to write into; the put must still land."""
    store = LocalBlobStore(tmp_path)
    for i in range(20):
        await store.put(f"d/old{i}.jpg", b"1", "image/jpeg")
        await asyncio.gather(store.delete(f"d/old{i}.jpg"), store.put(f"d/new{i}.jpg", b"2", "image/jpeg"))
        assert await store.get(f"d/new{i}.jpg") == b"2"
        await store.delete(f"d/new{i}.jpg")


async def test_a_key_below_an_existing_blob_is_a_clear_error(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    await store.put("cam", b"a blob, not a directory", "image/jpeg")
    with pytest.raises(BlobStoreError, match="'cam' is itself a blob"):
        await store.put("cam/1.jpg", b"1", "image/jpeg")
    assert isinstance(BlobStoreError("x"), OSError)

"""What every BlobStore does, checked on local disk and on S3 (moto's server over HTTP) alike."""

from __future__ import annotations

import pytest

from vtrack.blobstore import BlobNotFoundError, BlobStore

JPEG = "image/jpeg"

BAD_KEYS = [
    ("", "non-empty"),
    ("../etc/passwd", "traversal"),
    ("snapshots/../../etc/passwd", "traversal"),
    ("snapshots/..", "traversal"),
    ("/etc/passwd", "absolute"),
    ("snapshots\\1.jpg", "backslash"),
    ("snap\x00shots/1.jpg", "NUL"),
    ("snapshots//1.jpg", "empty segment"),
    ("snapshots/", "empty segment"),
    ("snapshots/./1.jpg", "'.' segment"),
    (".hidden", "reserved"),
    ("a/\n/b", "control character"),
    ("k" * 1025, "longer than"),
]


async def test_put_then_get_returns_the_same_bytes(store: BlobStore, ns: str) -> None:
    data = bytes(range(256)) * 100 + b"\x00\xff"
    assert await store.put(f"{ns}/snapshots/12/2024-05-01/0930.jpg", data, JPEG) == len(data)
    assert await store.get(f"{ns}/snapshots/12/2024-05-01/0930.jpg") == data


async def test_put_replaces(store: BlobStore, ns: str) -> None:
    await store.put(f"{ns}/a.jpg", b"first", JPEG)
    assert await store.put(f"{ns}/a.jpg", b"second, longer", JPEG) == 14
    assert await store.get(f"{ns}/a.jpg") == b"second, longer"


async def test_empty_blob(store: BlobStore, ns: str) -> None:
    assert await store.put(f"{ns}/empty", b"", "application/octet-stream") == 0
    assert await store.get(f"{ns}/empty") == b""
    assert await store.exists(f"{ns}/empty")


async def test_unicode_and_spaces_in_keys(store: BlobStore, ns: str) -> None:
    key = f"{ns}/Cổng trước/ảnh 1.jpg"
    await store.put(key, b"xin chao", JPEG)
    assert await store.get(key) == b"xin chao"


async def test_missing_blob(store: BlobStore, ns: str) -> None:
    with pytest.raises(BlobNotFoundError) as missing:
        await store.get(f"{ns}/nothing.jpg")
    assert missing.value.key == f"{ns}/nothing.jpg"
    assert isinstance(missing.value, LookupError)
    assert not await store.exists(f"{ns}/nothing.jpg")
    assert await store.delete(f"{ns}/nothing.jpg") is False


async def test_exists_and_delete(store: BlobStore, ns: str) -> None:
    await store.put(f"{ns}/x/1.jpg", b"1", JPEG)
    assert await store.exists(f"{ns}/x/1.jpg")
    assert await store.delete(f"{ns}/x/1.jpg") is True
    assert not await store.exists(f"{ns}/x/1.jpg")
    assert await store.delete(f"{ns}/x/1.jpg") is False
    with pytest.raises(BlobNotFoundError):
        await store.get(f"{ns}/x/1.jpg")


async def test_a_prefix_of_other_keys_is_not_a_blob(store: BlobStore, ns: str) -> None:
    await store.put(f"{ns}/dir/file.jpg", b"1", JPEG)
    assert not await store.exists(f"{ns}/dir")
    assert await store.delete(f"{ns}/dir") is False
    with pytest.raises(BlobNotFoundError):
        await store.get(f"{ns}/dir")
    assert await store.get(f"{ns}/dir/file.jpg") == b"1"


async def test_delete_many_removes_those_named_and_skips_missing(store: BlobStore, ns: str) -> None:
    keys = [f"{ns}/cam{i % 3}/{i}.jpg" for i in range(12)]
    for key in keys:
        await store.put(key, key.encode(), JPEG)
    await store.delete_many([*keys[:8], f"{ns}/never-stored.jpg"])
    assert [await store.exists(key) for key in keys] == [False] * 8 + [True] * 4
    await store.delete_many([])
    await store.delete_many(iter(keys[8:]))
    assert not any([await store.exists(key) for key in keys])


@pytest.mark.parametrize(("key", "problem"), BAD_KEYS, ids=[problem for _, problem in BAD_KEYS])
async def test_bad_keys_are_refused_by_every_operation(store: BlobStore, key: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        await store.put(key, b"x", JPEG)
    with pytest.raises(ValueError, match=problem):
        await store.get(key)
    with pytest.raises(ValueError, match=problem):
        await store.exists(key)
    with pytest.raises(ValueError, match=problem):
        await store.delete(key)


async def test_delete_many_checks_every_key_before_deleting_any(store: BlobStore, ns: str) -> None:
    await store.put(f"{ns}/keep.jpg", b"1", JPEG)
    with pytest.raises(ValueError, match="traversal"):
        await store.delete_many([f"{ns}/keep.jpg", "../outside"])
    assert await store.exists(f"{ns}/keep.jpg")


async def test_store_is_a_blob_store(store: BlobStore) -> None:
    assert isinstance(store, BlobStore)

"""The S3 store's own behaviour, against moto's S3 server on loopback."""

from __future__ import annotations

import socket
import time

import pytest

from tests.blobstore.conftest import BUCKET, raw_client, s3_store
from vtrack.blobstore import BlobStoreError


async def test_objects_land_under_the_prefix_with_their_content_type(s3_endpoint: str) -> None:
    store = s3_store(s3_endpoint, prefix="/site-a/vtrack/")
    try:
        await store.put("snapshots/1/a.jpg", b"jpeg bytes", "image/jpeg")
    finally:
        await store.close()
    head = raw_client(s3_endpoint).head_object(Bucket=BUCKET, Key="site-a/vtrack/snapshots/1/a.jpg")
    assert head["ContentType"] == "image/jpeg" and head["ContentLength"] == 10


async def test_stores_with_different_prefixes_do_not_see_each_other(s3_endpoint: str) -> None:
    first, second = s3_store(s3_endpoint, prefix="one"), s3_store(s3_endpoint, prefix="two")
    try:
        await first.put("same/key.jpg", b"1", "image/jpeg")
        assert not await second.exists("same/key.jpg")
        assert await first.exists("same/key.jpg")
    finally:
        await first.close()
        await second.close()


async def test_delete_many_beyond_one_request(s3_endpoint: str) -> None:
    """DeleteObjects takes at most 1000 keys; more must be split, none forgotten."""
    store = s3_store(s3_endpoint, prefix="bulk")
    client = raw_client(s3_endpoint)
    keys = [f"k/{i:04d}" for i in range(1005)]
    for key in keys[-10:]:  # only some exist: S3 deletes of missing keys succeed quietly
        client.put_object(Bucket=BUCKET, Key=f"bulk/{key}", Body=b"x")
    try:
        await store.delete_many(keys)
    finally:
        await store.close()
    assert client.list_objects_v2(Bucket=BUCKET, Prefix="bulk/").get("KeyCount") == 0


async def test_a_missing_bucket_is_a_store_error(s3_endpoint: str) -> None:
    store = s3_store(s3_endpoint, bucket="no-such-bucket")
    try:
        with pytest.raises(BlobStoreError, match="NoSuchBucket"):
            await store.put("a.jpg", b"1", "image/jpeg")
    finally:
        await store.close()


async def test_an_unreachable_endpoint_is_a_store_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = s3_store(f"http://127.0.0.1:{port}")
    started = time.monotonic()
    try:
        with pytest.raises(BlobStoreError, match="S3 get") as failed:
            await store.get("a.jpg")
    finally:
        await store.close()
    assert isinstance(failed.value, OSError)
    assert time.monotonic() - started < 10


def test_prefix_follows_the_key_rules(s3_endpoint: str) -> None:
    with pytest.raises(ValueError, match="traversal"):
        s3_store(s3_endpoint, prefix="../other-tenant")
    with pytest.raises(ValueError, match="bucket"):
        s3_store(s3_endpoint, bucket="")

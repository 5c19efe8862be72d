"""The connector contract, against a local folder and moto's S3 server (a real S3 endpoint on loopback)."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.peers.moto_s3 import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, running_moto_s3
from vtrack.devices.errors import DeviceError
from vtrack.sources.base import Connector, RemoteFile, is_video
from vtrack.sources.local import LocalFolderConnector
from vtrack.sources.s3 import S3Connector, s3_error

FILES = {"cam1/2026-11-20/0800.mp4": b"a" * 3000, "cam2/0900.dav": b"b" * 10, "cam1/notes.txt": b"not video"}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with running_moto_s3() as endpoint:
        yield endpoint


def s3_client(endpoint: str) -> object:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
    )


class Place:
    """Where the test writes files, and the connector that reads them back."""

    def __init__(self, connector: Connector, put: object) -> None:
        self.connector = connector
        self.put = put  # (name, bytes) -> None


@pytest.fixture(params=["local", "s3"])
async def place(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Place]:
    if request.param == "local":
        root = tmp_path / "share"

        def put_local(name: str, data: bytes) -> None:
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            old = time.time() - 3600  # settled: an upload that finished an hour ago
            os.utime(path, (old, old))

        root.mkdir()
        yield Place(LocalFolderConnector(root), put_local)
        return
    endpoint = request.getfixturevalue("s3_endpoint")
    client = s3_client(endpoint)
    bucket = f"b{time.monotonic_ns()}"
    client.create_bucket(Bucket=bucket)  # type: ignore[attr-defined]

    def put_s3(name: str, data: bytes) -> None:
        client.put_object(Bucket=bucket, Key=f"site/{name}", Body=data)  # type: ignore[attr-defined]

    connector = S3Connector(
        bucket,
        prefix="site",
        endpoint_url=endpoint,
        region=REGION,
        access_key_id=ACCESS_KEY_ID,
        secret_access_key=SECRET_ACCESS_KEY,
    )
    yield Place(connector, put_s3)
    await connector.close()


async def read(connector: Connector, file: RemoteFile, offset: int = 0) -> bytes:
    return b"".join([chunk async for chunk in connector.open(file, offset)])


async def test_a_pass_lists_every_video_with_what_tells_versions_apart(place: Place) -> None:
    """Listing stores have no change feed: each pass lists all, and size + hash/mtime show a new version."""
    for name, data in FILES.items():
        place.put(name, data)  # type: ignore[operator]
    first = await place.connector.changes(None)
    assert sorted(f.path for f in first.files) == ["cam1/2026-11-20/0800.mp4", "cam2/0900.dav"]
    assert {f.path: f.size for f in first.files}["cam1/2026-11-20/0800.mp4"] == 3000
    assert not first.has_more and first.cursor == ""

    place.put("cam1/2026-11-20/0800.mp4", b"z" * 3000)  # type: ignore[operator]  # same size, same second
    place.put("cam3/1000.mp4", b"c" * 5)  # type: ignore[operator]
    later = {f.path: f for f in (await place.connector.changes(first.cursor)).files}
    assert sorted(later) == ["cam1/2026-11-20/0800.mp4", "cam2/0900.dav", "cam3/1000.mp4"]
    before = {f.path: f for f in first.files}["cam1/2026-11-20/0800.mp4"]
    after = later["cam1/2026-11-20/0800.mp4"]
    assert (after.content_hash, after.modified) != (before.content_hash, before.modified)


async def test_pages_follow_the_cursor(place: Place) -> None:
    for n in range(5):
        place.put(f"cam/{n}.mp4", b"x")  # type: ignore[operator]
    seen: list[str] = []
    cursor = None
    while True:
        page = await place.connector.changes(cursor, page_size=2)
        seen += [f.path for f in page.files]
        cursor = page.cursor
        if not page.has_more:
            break
    assert sorted(seen) == [f"cam/{n}.mp4" for n in range(5)] and len(seen) == 5


async def test_reads_whole_and_from_an_offset(place: Place) -> None:
    place.put("cam1/2026-11-20/0800.mp4", bytes(range(256)) * 20)  # type: ignore[operator]
    [file] = (await place.connector.changes(None)).files
    assert await read(place.connector, file) == bytes(range(256)) * 20
    assert await read(place.connector, file, offset=5000) == (bytes(range(256)) * 20)[5000:]


async def test_a_clip_deleted_after_the_listing_is_a_clear_not_found(s3_endpoint: str) -> None:
    """Small clips come by presigned GET; any other answer is read by botocore, as every other call."""
    client = s3_client(s3_endpoint)
    bucket = f"b{time.monotonic_ns()}"
    client.create_bucket(Bucket=bucket)  # type: ignore[attr-defined]
    client.put_object(Bucket=bucket, Key="cam/0800.mp4", Body=b"x" * 100)  # type: ignore[attr-defined]
    connector = S3Connector(
        bucket,
        endpoint_url=s3_endpoint,
        region=REGION,
        access_key_id=ACCESS_KEY_ID,
        secret_access_key=SECRET_ACCESS_KEY,
    )
    [file] = (await connector.changes(None)).files
    assert await read(connector, file, offset=40) == b"x" * 60
    client.delete_object(Bucket=bucket, Key="cam/0800.mp4")  # type: ignore[attr-defined]
    with pytest.raises(DeviceError) as gone:
        await read(connector, file)
    assert gone.value.kind == "not_found" and "NoSuchKey" in gone.value.message
    await connector.close()


async def test_a_missing_bucket_is_a_clear_not_found(s3_endpoint: str) -> None:
    connector = S3Connector(
        "no-such-bucket",
        endpoint_url=s3_endpoint,
        region=REGION,
        access_key_id=ACCESS_KEY_ID,
        secret_access_key=SECRET_ACCESS_KEY,
    )
    with pytest.raises(DeviceError) as missing:
        await connector.changes(None)
    assert missing.value.kind == "not_found" and "NoSuchBucket" in missing.value.message
    await connector.close()


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("InvalidAccessKeyId", "auth"),
        ("SignatureDoesNotMatch", "auth"),
        ("SlowDown", "timeout"),
        ("Teapot", "protocol"),
    ],
)
def test_s3_errors_map_to_kinds(code: str, kind: str) -> None:
    """moto accepts any key pair, so refused keys are checked on the error S3 itself sends."""
    error = ClientError({"Error": {"Code": code, "Message": "no"}}, "ListObjectsV2")
    assert s3_error(error, "s3://b/").kind == kind


def test_video_is_known_by_extension_or_content_type() -> None:
    assert is_video("a/B.MP4") and is_video("x.dav") and is_video("clip", "video/mp2t")
    assert not is_video("notes.txt") and not is_video("photo.jpg", "image/jpeg")


async def test_a_folder_skips_files_still_being_written(tmp_path: Path) -> None:
    (tmp_path / "uploading.mp4").write_bytes(b"partial")  # modified just now
    connector = LocalFolderConnector(tmp_path, settle=timedelta(seconds=30))
    assert (await connector.changes(None)).files == []
    missing = LocalFolderConnector(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        await missing.changes(None)


def s3_connector(endpoint: str, bucket: str) -> S3Connector:
    return S3Connector(
        bucket,
        endpoint_url=endpoint,
        region=REGION,
        access_key_id=ACCESS_KEY_ID,
        secret_access_key=SECRET_ACCESS_KEY,
    )


async def test_an_s3_pass_opens_with_a_short_page(s3_endpoint: str) -> None:
    """So the first downloads start after a short listing; the rest come 1,000 keys a page."""
    client = s3_client(s3_endpoint)
    bucket = f"b{time.monotonic_ns()}"
    client.create_bucket(Bucket=bucket)  # type: ignore[attr-defined]
    for n in range(130):
        client.put_object(Bucket=bucket, Key=f"cam/{n:04d}.mp4", Body=b"x")  # type: ignore[attr-defined]
    connector = s3_connector(s3_endpoint, bucket)
    first = await connector.changes(None)
    assert len(first.files) == 100 and first.has_more
    rest = await connector.changes(first.cursor)
    assert len(rest.files) == 30 and not rest.has_more
    assert [f.path for f in first.files + rest.files] == [f"cam/{n:04d}.mp4" for n in range(130)]
    await connector.close()


async def test_a_large_s3_object_streams_in_megabytes_from_any_offset(s3_endpoint: str) -> None:
    client = s3_client(s3_endpoint)
    bucket = f"b{time.monotonic_ns()}"
    client.create_bucket(Bucket=bucket)  # type: ignore[attr-defined]
    data = os.urandom(10 << 20)
    client.put_object(Bucket=bucket, Key="nvr/full-day.mkv", Body=data)  # type: ignore[attr-defined]
    connector = s3_connector(s3_endpoint, bucket)
    [file] = (await connector.changes(None)).files
    chunks = [chunk async for chunk in connector.open(file, 1 << 20)]
    assert b"".join(chunks) == data[1 << 20 :]
    assert len(chunks) > 1 and max(len(c) for c in chunks) <= 1 << 20  # streamed, not held whole
    assert await read(connector, file) == data
    await connector.close()


async def test_an_s3_endpoint_that_is_not_there_is_unreachable() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{probe.getsockname()[1]}"
    connector = s3_connector(endpoint, "videos")
    file = RemoteFile("cam/0800.mp4", "cam/0800.mp4", 100, datetime.now(UTC))
    with pytest.raises(DeviceError) as refused:
        await read(connector, file)
    assert refused.value.kind == "unreachable" and "could not be reached" in refused.value.message
    await connector.close()

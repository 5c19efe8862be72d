"""The same blob store contract, run against a local directory and against moto's S3 server."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.peers.moto_s3 import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, running_moto_s3
from vtrack.blobstore import BlobStore, LocalBlobStore
from vtrack.blobstore.s3 import S3BlobStore

BUCKET = "vtrack-test"


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    with running_moto_s3() as endpoint:
        raw_client(endpoint).create_bucket(Bucket=BUCKET)
        yield endpoint


def raw_client(endpoint: str) -> Any:
    """A plain boto3 client, to look at the bucket independently of the store under test."""
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
    )


def s3_store(endpoint: str, *, bucket: str = BUCKET, prefix: str = "") -> S3BlobStore:
    return S3BlobStore(
        bucket,
        prefix=prefix,
        endpoint_url=endpoint,
        region=REGION,
        access_key_id=ACCESS_KEY_ID,
        secret_access_key=SECRET_ACCESS_KEY,
    )


@pytest.fixture(scope="session")
async def shared_s3_store(s3_endpoint: str) -> AsyncIterator[S3BlobStore]:
    """One store for the contract tests (a client takes ~0.4 s to build); tests keep apart by `ns`."""
    store = s3_store(s3_endpoint, prefix="contract")
    yield store
    await store.close()


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    result: BlobStore = request.getfixturevalue("shared_s3_store")
    return result


@pytest.fixture
def ns() -> str:
    """A key prefix of this test's own, so tests sharing the bucket never see each other's blobs."""
    return f"t{secrets.token_hex(4)}"

"""Blobs in any S3-compatible store (AWS S3, MinIO, Ceph, Backblaze B2, Cloudflare R2, ...).

boto3 is synchronous; each call runs in a worker thread. One client serves the store: botocore clients
are thread-safe (sessions are not, so the session is made once, here, and used for nothing else). With
a custom endpoint the store is addressed path-style (http://host/bucket/key), which self-hosted servers
expect, and checksums are only sent where S3 requires them: botocore's newer default trailing checksums
are refused by several S3-compatible servers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any, Protocol, cast

import boto3  # type: ignore[import-untyped]  # boto3 ships no type information
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

from vtrack.blobstore.base import BlobNotFoundError, BlobStoreError, validate_key

log = logging.getLogger(__name__)

DELETE_BATCH = 1000  # the most keys one DeleteObjects request may name
_MISSING = {"404", "NoSuchKey", "NotFound"}


class _S3Client(Protocol):
    """The slice of botocore's S3 client used here."""

    def put_object(self, **kwargs: Any) -> dict[str, Any]: ...
    def get_object(self, **kwargs: Any) -> dict[str, Any]: ...
    def head_object(self, **kwargs: Any) -> dict[str, Any]: ...
    def delete_object(self, **kwargs: Any) -> dict[str, Any]: ...
    def delete_objects(self, **kwargs: Any) -> dict[str, Any]: ...
    def close(self) -> None: ...


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _normalise_prefix(prefix: str) -> str:
    prefix = prefix.strip("/")
    return validate_key(prefix) + "/" if prefix else ""


class S3BlobStore:
    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str,
        secret_access_key: str,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
    ) -> None:
        if not bucket:
            raise ValueError("an S3 blob store needs a bucket name")
        self.bucket = bucket
        self.prefix = _normalise_prefix(prefix)
        config = Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"mode": "standard", "max_attempts": 3},
            max_pool_connections=32,
            s3={"addressing_style": "path"} if endpoint_url else None,
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        session = boto3.session.Session(
            aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key, region_name=region
        )
        self._client = cast(_S3Client, session.client("s3", endpoint_url=endpoint_url, config=config))
        self._where = f"s3://{bucket}/{self.prefix}"

    def object_key(self, key: str) -> str:
        return self.prefix + validate_key(key)

    def _failed(self, action: str, key: str, exc: Exception) -> BlobStoreError:
        detail = f"{_code(exc)}: {exc}" if isinstance(exc, ClientError) else str(exc)
        return BlobStoreError(f"S3 {action} of {self._where}{key} failed ({detail})")

    async def put(self, key: str, data: bytes, content_type: str) -> int:
        name = self.object_key(key)
        body = bytes(data)
        try:
            await asyncio.to_thread(
                self._client.put_object, Bucket=self.bucket, Key=name, Body=body, ContentType=content_type
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._failed("put", key, exc) from exc
        return len(body)

    async def get(self, key: str) -> bytes:
        name = self.object_key(key)
        try:
            return await asyncio.to_thread(self._read, name)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise BlobNotFoundError(key) from None
            raise self._failed("get", key, exc) from exc
        except BotoCoreError as exc:
            raise self._failed("get", key, exc) from exc

    def _read(self, name: str) -> bytes:
        body = self._client.get_object(Bucket=self.bucket, Key=name)["Body"]
        try:
            return bytes(body.read())
        finally:
            body.close()

    async def exists(self, key: str) -> bool:
        name = self.object_key(key)
        try:
            await asyncio.to_thread(self._client.head_object, Bucket=self.bucket, Key=name)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return False
            raise self._failed("head", key, exc) from exc
        except BotoCoreError as exc:
            raise self._failed("head", key, exc) from exc
        return True

    async def delete(self, key: str) -> bool:
        # DeleteObject succeeds whether or not the key exists; ask first to answer the question.
        if not await self.exists(key):
            return False
        try:
            await asyncio.to_thread(self._client.delete_object, Bucket=self.bucket, Key=self.object_key(key))
        except (ClientError, BotoCoreError) as exc:
            raise self._failed("delete", key, exc) from exc
        return True

    async def delete_many(self, keys: Iterable[str]) -> None:
        names = [self.object_key(key) for key in keys]  # every key checked before anything is removed
        for start in range(0, len(names), DELETE_BATCH):
            batch = names[start : start + DELETE_BATCH]
            request = {"Objects": [{"Key": name} for name in batch], "Quiet": True}
            try:
                result = await asyncio.to_thread(
                    self._client.delete_objects, Bucket=self.bucket, Delete=request
                )
            except (ClientError, BotoCoreError) as exc:
                raise self._failed("delete", f"({len(batch)} keys)", exc) from exc
            errors = result.get("Errors") or []
            if errors:
                first = errors[0]
                raise BlobStoreError(
                    f"S3 delete of {len(errors)} of {len(batch)} keys in {self._where} failed "
                    f"(first: {first.get('Key')}: {first.get('Code')} {first.get('Message')})"
                )

    async def close(self) -> None:
        await asyncio.to_thread(self._client.close)

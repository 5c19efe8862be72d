"""Amazon S3 and S3-compatible stores (MinIO, Wasabi, R2, B2: any `endpoint_url`) as a source.

S3 lists keys in name order and has no change feed, so a sync lists the prefix (1,000 keys a request)
and keeps what is newer than its watermark; a no-change re-sync costs one listing, as rclone's does.
Downloads use Range requests, so a cut one resumes at its offset. boto3 is synchronous: every call runs
in a worker thread, with one client per connector (botocore clients are thread-safe).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, cast

import boto3  # type: ignore[import-untyped]  # boto3 ships no type information
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

from vtrack.devices.errors import DeviceError
from vtrack.sources.base import ChangePage, RateLimit, RemoteFile, after_watermark, is_video, watermark

_CHUNK = 1024 * 1024
_AUTH_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "ExpiredToken"}


def s3_error(exc: Exception, where: str) -> DeviceError:
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _AUTH_CODES:
            return DeviceError(f"{where} refused the access key ({code})", "auth")
        if code in {"NoSuchBucket", "NoSuchKey", "404"}:
            return DeviceError(f"{where}: {code}", "not_found")
        if code in {"SlowDown", "503", "RequestLimitExceeded"}:
            return DeviceError(f"{where} asked us to slow down ({code})", "timeout")
        return DeviceError(f"{where}: {code or exc}", "protocol")
    return DeviceError(f"{where} could not be reached: {exc}", "unreachable")


class S3Connector:
    rate_limit = RateLimit(requests_per_second=100.0, concurrent_downloads=8)

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str,
        secret_access_key: str,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        config = Config(
            connect_timeout=5,
            read_timeout=60,
            retries={"mode": "standard", "max_attempts": 3},
            max_pool_connections=16,
            s3={"addressing_style": "path"} if endpoint_url else None,
        )
        session = boto3.session.Session(
            aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key, region_name=region
        )
        self._client: Any = session.client("s3", endpoint_url=endpoint_url, config=config)
        self.where = f"s3://{bucket}/{self.prefix}"

    def _list(self) -> list[RemoteFile]:
        files: list[RemoteFile] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self.prefix, "MaxKeys": 1000}
            if token:
                kwargs["ContinuationToken"] = token
            page = cast(dict[str, Any], self._client.list_objects_v2(**kwargs))
            for item in page.get("Contents", []):
                key = str(item["Key"])
                if key.endswith("/") or not is_video(key):
                    continue
                etag = str(item.get("ETag", "")).strip('"') or None
                files.append(
                    RemoteFile(key, key[len(self.prefix) :], int(item["Size"]), item["LastModified"], etag)
                )
            if not page.get("IsTruncated"):
                return files
            token = str(page["NextContinuationToken"])

    async def changes(self, cursor: str | None, page_size: int = 1000) -> ChangePage:
        try:
            listed = await asyncio.to_thread(self._list)
        except (BotoCoreError, ClientError) as exc:
            raise s3_error(exc, self.where) from None
        fresh = sorted(
            (f for f in listed if after_watermark(f, cursor)), key=lambda f: (f.modified.isoformat(), f.id)
        )
        page = fresh[:page_size]
        return ChangePage(
            page, watermark(page[-1]) if page else (cursor or ""), has_more=len(fresh) > page_size
        )

    async def open(self, file: RemoteFile, offset: int = 0) -> AsyncIterator[bytes]:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": file.id}
        if offset:
            kwargs["Range"] = f"bytes={offset}-"
        try:
            response = await asyncio.to_thread(self._client.get_object, **kwargs)
        except (BotoCoreError, ClientError) as exc:
            raise s3_error(exc, f"{self.where}{file.path}") from None
        body = response["Body"]
        try:
            while chunk := await asyncio.to_thread(body.read, _CHUNK):
                yield chunk
        finally:
            body.close()

    async def refresh(self) -> None:
        return None  # access keys do not expire

    async def close(self) -> None:
        await asyncio.to_thread(self._client.close)

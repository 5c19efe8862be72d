"""Taking a camera's picture and keeping it for a while: JPEG + thumbnail in the blob store, a row, a link.

The camera's own snapshot URL (ONVIF GetSnapshotUri or the vendor's) is tried first: it is one HTTP GET,
the picture is the camera's full-quality JPEG, and it costs no decoding here. When there is none, or it
fails, a frame is decoded from the RTSP stream instead. Links are signed and expire, so an <img> tag can
load them without a bearer token and a leaked link stops working.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from vtrack.blobstore.base import BlobStore
from vtrack.db.models import Camera, CameraSnapshot
from vtrack.db.repositories.snapshots import SnapshotRepository
from vtrack.db.types import new_id, utcnow
from vtrack.devices.http import CameraAuth
from vtrack.errors import InvalidInputError, UpstreamError
from vtrack.media.errors import StreamError
from vtrack.media.frames import Snapshot, capture_snapshot, snapshot_from_jpeg
from vtrack.registry.urls import AddressError, check_resolved
from vtrack.security.signed_urls import UrlSigner

if TYPE_CHECKING:
    from vtrack.services import Services

log = logging.getLogger(__name__)

LINK_TTL = timedelta(hours=1)
_MAX_JPEG = 20 * 1024 * 1024


def image_path(snapshot_id: str, thumbnail: bool = False) -> str:
    return f"/api/v1/snapshots/{snapshot_id}/{'thumbnail' if thumbnail else 'image'}"


async def check_camera_host(url: str, field: str) -> None:
    """Refuse, at connect time, a camera URL whose host now resolves somewhere it must not reach."""
    try:
        await check_resolved(urlsplit(url).hostname or "")
    except AddressError as exc:
        raise InvalidInputError(f"{field}: {exc}", [{"field": field, "message": str(exc)}]) from None


async def fetch_jpeg(
    http: httpx.AsyncClient,
    url: str,
    username: str | None,
    password: str | None,
    timeout: float,  # noqa: ASYNC109  (httpx's own per-request timeout)
) -> bytes:
    """GET a camera snapshot URL with Digest (or Basic when that is all it offers), as cameras ask."""
    auth: httpx.Auth = CameraAuth(username, password or "") if username else httpx.Auth()
    response = await http.get(url, auth=auth, timeout=timeout)
    response.raise_for_status()
    if len(response.content) > _MAX_JPEG:
        raise ValueError("the snapshot is larger than 20 MiB")
    return response.content


class SnapshotService:
    def __init__(
        self,
        session: AsyncSession,
        blobs: BlobStore,
        signer: UrlSigner,
        http: httpx.AsyncClient,
        *,
        ttl: timedelta,
    ) -> None:
        self.session = session
        self.blobs = blobs
        self.signer = signer
        self.http = http
        self.ttl = ttl
        self.snapshots = SnapshotRepository(session)

    def link(self, snapshot: CameraSnapshot, *, thumbnail: bool = False, now: datetime | None = None) -> str:
        now = now or utcnow()
        expires = now + LINK_TTL
        if snapshot.expires_at is not None:
            expires = min(expires, snapshot.expires_at)
        return self.signer.sign(image_path(snapshot.id, thumbnail), expires)

    async def _take(
        self,
        camera: Camera,
        password: str | None,
        timeout: float,  # noqa: ASYNC109  (bounds the capture's worker thread, which asyncio cannot stop)
    ) -> tuple[Snapshot, str]:
        problem: str | None = None
        if camera.snapshot_url:
            await check_camera_host(camera.snapshot_url, "snapshot_url")
            try:
                jpeg = await fetch_jpeg(self.http, camera.snapshot_url, camera.username, password, timeout)
                return await snapshot_from_jpeg(jpeg), "onvif" if camera.protocol == "onvif" else "vendor"
            except (httpx.HTTPError, ValueError) as exc:
                problem = f"snapshot URL failed ({type(exc).__name__}: {exc}); decoded the stream instead"
                log.info("camera %s: %s", camera.id, problem)
        await check_camera_host(camera.rtsp_url, "rtsp_url")
        try:
            snapshot = await capture_snapshot(
                camera.rtsp_url, username=camera.username, password=password, timeout=timeout
            )
        except StreamError as exc:
            raise UpstreamError(
                exc.message, exc.kind, {"snapshot_url": problem} if problem else None
            ) from None
        return snapshot, "rtsp"

    async def capture(
        self,
        camera: Camera,
        password: str | None,
        *,
        timeout: float,  # noqa: ASYNC109  (bounds the capture's worker thread)
        save_thumbnail: bool,
    ) -> CameraSnapshot:
        snapshot, method = await self._take(camera, password, timeout)
        captured = utcnow()
        snapshot_id = new_id()
        base = f"snapshots/{camera.id}/{captured:%Y%m%dT%H%M%S}-{snapshot_id}"
        size = await self.blobs.put(f"{base}.jpg", snapshot.jpeg, "image/jpeg")
        thumb_size = (
            await self.blobs.put(f"{base}-thumb.jpg", snapshot.thumbnail, "image/jpeg")
            if save_thumbnail
            else None
        )
        row = CameraSnapshot(
            id=snapshot_id,
            camera_id=camera.id,
            captured_at=captured,
            filename=f"{captured:%Y%m%dT%H%M%S}.jpg",
            storage_path=f"{base}.jpg",
            file_size=size,
            width=snapshot.width,
            height=snapshot.height,
            expires_at=captured + self.ttl,
            thumbnail_path=f"{base}-thumb.jpg" if save_thumbnail else None,
            thumbnail_size=thumb_size,
            method=method,
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def delete_files_of(self, camera_ids: list[str]) -> None:
        """Before cameras are deleted (their rows cascade): files first, so none is left without a row."""
        if camera_ids:
            await self.blobs.delete_many(await self.snapshots.keys_of_cameras(camera_ids))

    async def delete_expired(self, now: datetime, batch: int = 500) -> int:
        """Files first, then rows: a failure leaves rows that the next run retries, never orphan files."""
        deleted = 0
        while True:
            expired = await self.snapshots.expired(now, batch)
            if not expired:
                return deleted
            keys = [s.storage_path for s in expired] + [s.thumbnail_path for s in expired if s.thumbnail_path]
            await self.blobs.delete_many(keys)
            await self.snapshots.delete_ids([s.id for s in expired])
            deleted += len(expired)


def snapshot_service(services: Services, session: AsyncSession) -> SnapshotService:
    return SnapshotService(
        session, services.blobs, services.signer, services.http, ttl=services.settings.snapshot_ttl
    )

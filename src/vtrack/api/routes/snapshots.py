"""Serves a snapshot's JPEG to whoever holds its signed link (an <img> tag carries no bearer token)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from vtrack.api.deps import ServicesDep, SessionDep
from vtrack.api.envelope import error_responses
from vtrack.blobstore.base import BlobNotFoundError
from vtrack.db.repositories.snapshots import SnapshotRepository
from vtrack.db.types import utcnow
from vtrack.errors import NotFoundError, PermissionDeniedError
from vtrack.security.signed_urls import SignatureExpiredError, SignedUrlError

router = APIRouter(prefix="/snapshots", tags=["cameras"], responses=error_responses(403, 404, 422))


_JPEG: dict[int | str, dict[str, Any]] = {200: {"content": {"image/jpeg": {}}, "description": "The JPEG"}}


@router.get("/{snapshot_id}/{variant}", response_class=Response, responses=_JPEG)
async def snapshot_file(
    request: Request,
    snapshot_id: str,
    variant: Literal["image", "thumbnail"],
    services: ServicesDep,
    session: SessionDep,
    expires: Annotated[str, Query(max_length=16)],
    sig: Annotated[str, Query(max_length=128)],
) -> Response:
    try:
        services.signer.verify(request.url.path, expires, sig, utcnow())
    except SignatureExpiredError:
        raise PermissionDeniedError("this snapshot link has expired; ask the API for a fresh one") from None
    except SignedUrlError:
        raise PermissionDeniedError("this snapshot link is not valid") from None
    snapshot = await SnapshotRepository(session).get(snapshot_id)
    key = (
        None
        if snapshot is None
        else snapshot.thumbnail_path
        if variant == "thumbnail"
        else snapshot.storage_path
    )
    if key is None:
        raise NotFoundError("snapshot not found (it may have been cleaned up)")
    try:
        data = await services.blobs.get(key)
    except BlobNotFoundError:
        raise NotFoundError("snapshot file not found (it may have been cleaned up)") from None
    return Response(
        data,
        media_type="image/jpeg",
        headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )

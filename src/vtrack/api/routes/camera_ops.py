"""Things done *to* a camera over the network: test its stream, take its picture."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from vtrack.api.deps import AuditorDep, CamerasRead, ServicesDep, SessionDep
from vtrack.api.envelope import Envelope, error_responses, ok
from vtrack.api.schemas.camera_ops import (
    SnapshotOut,
    SnapshotRequest,
    TestConnectionOut,
    TestConnectionRequest,
)
from vtrack.db.models import CameraSnapshot
from vtrack.db.repositories.snapshots import SnapshotRepository
from vtrack.db.types import utcnow
from vtrack.media.stream_test import test_stream
from vtrack.registry.cameras import CameraService
from vtrack.registry.snapshots import SnapshotService, check_camera_host, snapshot_service

router = APIRouter(prefix="/cameras", tags=["cameras"], responses=error_responses(401, 403, 404, 422))


def _out(service: SnapshotService, snapshot: CameraSnapshot) -> SnapshotOut:
    return SnapshotOut(
        id=snapshot.id,
        camera_id=snapshot.camera_id,
        url=service.link(snapshot),
        thumbnail_url=service.link(snapshot, thumbnail=True) if snapshot.thumbnail_path else None,
        width=snapshot.width,
        height=snapshot.height,
        file_size=snapshot.file_size,
        method=snapshot.method,
        captured_at=snapshot.captured_at,
        expires_at=snapshot.expires_at,
    )


@router.post("/{camera_id}/test-connection")
async def test_connection(
    camera_id: str,
    body: TestConnectionRequest,
    _: CamerasRead,
    services: ServicesDep,
    session: SessionDep,
    audit: AuditorDep,
) -> Envelope[TestConnectionOut]:
    """Open the stream, decode frames, and say how it went; a failed test is a 200 with success false."""
    cameras = CameraService(session, services.keyring, audit)
    camera = await cameras.get(camera_id)
    await check_camera_host(camera.rtsp_url, "rtsp_url")
    result = await test_stream(
        camera.rtsp_url,
        username=camera.username if body.check_credentials else None,
        password=cameras.decrypt_password(camera) if body.check_credentials else None,
        timeout=body.timeout_seconds,
        frames=body.frames,
    )
    if result.success:
        camera.last_connected_at = utcnow()
    message = (
        f"Successfully connected to {camera.name}: {result.message}" if result.success else result.message
    )
    return ok(
        TestConnectionOut(
            success=result.success,
            camera_id=camera.id,
            message=message,
            latency_ms=round(result.latency_ms, 1) if result.latency_ms is not None else None,
            resolution=result.resolution,
            fps=round(result.fps, 2) if result.fps is not None else None,
            codec=result.codec,
            kind=result.kind,
        )
    )


@router.post("/{camera_id}/snapshot", status_code=201, responses=error_responses(502))
async def take_snapshot(
    camera_id: str,
    body: SnapshotRequest,
    _: CamerasRead,
    services: ServicesDep,
    session: SessionDep,
    audit: AuditorDep,
) -> Envelope[SnapshotOut]:
    cameras = CameraService(session, services.keyring, audit)
    camera = await cameras.get(camera_id)
    service = snapshot_service(services, session)
    snapshot = await service.capture(
        camera,
        cameras.decrypt_password(camera),
        timeout=body.timeout_seconds,
        save_thumbnail=body.save_thumbnail,
    )
    return ok(_out(service, snapshot))


@router.get("/{camera_id}/snapshots")
async def list_snapshots(
    camera_id: str,
    _: CamerasRead,
    services: ServicesDep,
    session: SessionDep,
    audit: AuditorDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> Envelope[list[SnapshotOut]]:
    """The latest pictures, newest first, with fresh links (the dashboard's thumbnails)."""
    await CameraService(session, services.keyring, audit).get(camera_id)
    service = snapshot_service(services, session)
    return ok([_out(service, s) for s in await SnapshotRepository(session).recent(camera_id, limit)])

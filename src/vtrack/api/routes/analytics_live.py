"""Live analytics: channel health, an SSE stream of counts and events, and an annotated MJPEG preview.

Browsers cannot put a bearer token on an <img> (MJPEG) or an EventSource (SSE) request, so both also
accept a signed link from GET /analytics/live, as snapshots do; API clients use their token as usual.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials

from vtrack.analytics.live.worker import ChannelWorker
from vtrack.api.deps import AnalyticsRead, ServicesDep, SessionDep, _bearer, get_current_user, has_permission
from vtrack.api.envelope import ApiModel, Envelope, error_responses, ok
from vtrack.api.schemas.analytics import ChannelHealth
from vtrack.db.types import utcnow
from vtrack.errors import NotFoundError, PermissionDeniedError
from vtrack.events.bus import Event
from vtrack.events.sse import KEEPALIVE, SSE_HEADERS, sse_message
from vtrack.security.permissions import Permission
from vtrack.security.signed_urls import SignatureExpiredError, SignedUrlError

router = APIRouter(prefix="/analytics", tags=["analytics"], responses=error_responses(401, 403, 404, 422))

LINK_MINUTES = 60
KEEPALIVE_SECONDS = 15.0
_BOUNDARY = "vtrackframe"


class LiveChannel(ApiModel):
    channel_id: str
    name: str
    node: str | None = None  # the node that runs it (step 8: several analytics workers share channels)
    health: ChannelHealth
    preview_url: str | None  # signed MJPEG link, valid LINK_MINUTES
    frame_url: str | None  # signed single annotated JPEG


class LiveOverview(ApiModel):
    channels: list[LiveChannel]
    stream_url: str  # signed SSE link for all channels


async def _signed_or_bearer(
    request: Request,
    services: ServicesDep,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    expires: Annotated[str | None, Query(max_length=16)] = None,
    sig: Annotated[str | None, Query(max_length=128)] = None,
) -> None:
    if sig is not None or expires is not None:
        try:
            services.signer.verify(request.url.path, expires or "", sig or "", utcnow())
        except SignatureExpiredError:
            raise PermissionDeniedError(
                "this link has expired; ask GET /api/v1/analytics/live for a fresh one"
            ) from None
        except SignedUrlError:
            raise PermissionDeniedError("this link is not valid") from None
        return
    user = await get_current_user(request, services, session, credentials)
    if not has_permission(user, Permission.ANALYTICS_READ):
        raise PermissionDeniedError(f"this needs the {Permission.ANALYTICS_READ.value} permission")


SignedOrBearer = Annotated[None, Depends(_signed_or_bearer)]


def _worker(services: ServicesDep, channel_id: str) -> ChannelWorker:
    worker = services.analytics.worker(channel_id)
    if worker is None:
        raise NotFoundError("this channel is not running (disabled, failed, or not started yet)")
    return worker


@router.get("/live")
async def live_overview(_: AnalyticsRead, services: ServicesDep) -> Envelope[LiveOverview]:
    """Every live channel, on this node or another, its health, and signed links for the preview and the
    stream (those only where this node runs the channel: frames stay on the node that decodes them)."""
    expires = utcnow() + timedelta(minutes=LINK_MINUTES)
    prefix = "/api/v1/analytics"
    channels = []
    cluster = await services.analytics.cluster_health()
    for channel_id, health in sorted(cluster.items(), key=lambda kv: str(kv[1].get("name"))):
        running = services.analytics.worker(channel_id) is not None
        channels.append(
            LiveChannel(
                channel_id=channel_id,
                name=str(health.get("name", "")),
                node=str(health["node"]) if health.get("node") else None,
                health=ChannelHealth.model_validate(health),
                preview_url=services.signer.sign(f"{prefix}/channels/{channel_id}/preview.mjpeg", expires)
                if running
                else None,
                frame_url=services.signer.sign(f"{prefix}/channels/{channel_id}/frame.jpg", expires)
                if running
                else None,
            )
        )
    return ok(LiveOverview(channels=channels, stream_url=services.signer.sign(f"{prefix}/stream", expires)))


_JPEG: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/jpeg": {}}, "description": "Annotated frame"}
}


@router.get("/channels/{channel_id}/frame.jpg", response_class=StreamingResponse, responses=_JPEG)
async def channel_frame(channel_id: str, _: SignedOrBearer, services: ServicesDep) -> StreamingResponse:
    """The newest analysed frame with boxes, track ids, lines and zones drawn (for the line editor too)."""
    worker = _worker(services, channel_id)
    jpeg = await asyncio.to_thread(worker.preview_jpeg)
    if jpeg is None:
        raise NotFoundError("no frame analysed yet on this channel")
    return StreamingResponse(iter([jpeg]), media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.get(
    "/channels/{channel_id}/preview.mjpeg",
    response_class=StreamingResponse,
    responses={200: {"content": {f"multipart/x-mixed-replace; boundary={_BOUNDARY}": {}}}},
)
async def channel_preview(
    channel_id: str,
    request: Request,
    _: SignedOrBearer,
    services: ServicesDep,
    fps: Annotated[float, Query(gt=0, le=15)] = 5.0,
    width: Annotated[int, Query(ge=160, le=1920)] = 960,
) -> StreamingResponse:
    """An endless multipart JPEG stream of annotated frames, for an <img> tag."""
    worker = _worker(services, channel_id)

    async def frames() -> AsyncIterator[bytes]:
        last_index = -1
        while not await request.is_disconnected() and services.analytics.worker(channel_id) is worker:
            latest = worker.latest()
            if latest is not None and latest.frame.index != last_index:
                last_index = latest.frame.index
                jpeg = await asyncio.to_thread(worker.preview_jpeg, width)
                if jpeg is not None:
                    head = f"--{_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
                    yield head.encode() + jpeg + b"\r\n"
            await asyncio.sleep(1 / fps)

    return StreamingResponse(
        frames(),
        media_type=f"multipart/x-mixed-replace; boundary={_BOUNDARY}",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _payload(event: Event) -> dict[str, Any]:
    return {"channelId": event.subject_id, "at": event.at.isoformat(), **event.payload}


@router.get(
    "/stream", response_class=StreamingResponse, responses={200: {"content": {"text/event-stream": {}}}}
)
async def live_stream(
    request: Request,
    _: SignedOrBearer,
    services: ServicesDep,
    channel: Annotated[str | None, Query(max_length=36, description="Only this channel")] = None,
) -> StreamingResponse:
    """Server-sent events: `health` for each channel on connect, then `counts` (at most ~1/s per channel
    and on every change) and `event` (each crossing, zone entry and exit) as they are written."""
    subscription = services.events.subscribe(["analytics.*"], queue_size=512)

    async def events() -> AsyncIterator[bytes]:
        try:
            yield b"retry: 3000\n\n"
            for channel_id, health in services.analytics.health().items():
                if channel is None or channel == channel_id:
                    yield sse_message("health", {"channelId": channel_id, **health})
            while not await request.is_disconnected():
                try:
                    event = await subscription.get(within=KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield KEEPALIVE
                    continue
                if channel is not None and event.subject_id != channel:
                    continue
                yield sse_message(event.kind.removeprefix("analytics."), _payload(event))
        finally:
            subscription.close()

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers=SSE_HEADERS,
    )

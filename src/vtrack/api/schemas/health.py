"""Health responses: a camera's current health with its history page, a check result, the report."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from vtrack.api.envelope import ApiModel, PageMeta
from vtrack.db.models import Camera, CameraHealth
from vtrack.health.monitor import Applied


class HealthSampleOut(ApiModel):
    id: str
    checked_at: datetime
    is_connected: bool
    status: str
    latency_ms: float | None
    fps_actual: float | None
    first_frame_ms: float | None
    error_kind: str | None
    error: str | None


class CameraHealthOut(ApiModel):
    camera_id: str
    name: str
    status: str
    is_active: bool
    last_checked_at: datetime | None
    last_connected_at: datetime | None
    consecutive_failures: int
    consecutive_successes: int
    history: list[HealthSampleOut]

    @classmethod
    def of(cls, camera: Camera, history: list[CameraHealth]) -> CameraHealthOut:
        return cls(
            camera_id=camera.id,
            name=camera.name,
            status=camera.status,
            is_active=camera.is_active,
            last_checked_at=camera.last_checked_at,
            last_connected_at=camera.last_connected_at,
            consecutive_failures=camera.health_failures,
            consecutive_successes=camera.health_successes,
            history=[HealthSampleOut.model_validate(h) for h in history],
        )


class CameraHealthEnvelope(ApiModel):
    """The usual envelope; `meta` pages `data.history`."""

    success: Literal[True] = True
    data: CameraHealthOut
    meta: PageMeta


class CheckOut(ApiModel):
    camera_id: str
    name: str
    checked_at: datetime
    is_connected: bool
    status: str
    previous_status: str
    changed: bool
    reason: str
    latency_ms: float | None
    first_frame_ms: float | None
    fps_actual: float | None
    codec: str | None
    width: int | None
    height: int | None
    duration_ms: float
    error_kind: str | None
    error: str | None

    @classmethod
    def of(cls, applied: Applied) -> CheckOut:
        sample, transition = applied.sample, applied.transition
        return cls(
            camera_id=sample.camera_id,
            name=applied.name,
            checked_at=sample.checked_at,
            is_connected=sample.ok,
            status=applied.status,
            previous_status=transition.before.status.value,
            changed=transition.changed,
            reason=transition.reason,
            latency_ms=sample.latency_ms,
            first_frame_ms=sample.first_frame_ms,
            fps_actual=sample.fps,
            codec=sample.codec,
            width=sample.width,
            height=sample.height,
            duration_ms=round(sample.duration_ms, 2),
            error_kind=sample.error_kind,
            error=sample.error,
        )


class CameraReport(ApiModel):
    camera_id: str
    name: str
    status: str
    last_checked_at: datetime | None
    checks: int
    uptime_percent: float | None
    avg_latency_ms: float | None
    p95_latency_ms: float | None
    avg_fps: float | None
    state_changes: int


class HealthReport(ApiModel):
    since: datetime
    until: datetime
    hours: int
    cameras: int
    checks: int
    uptime_percent: float | None
    by_status: dict[str, int]
    items: list[CameraReport]

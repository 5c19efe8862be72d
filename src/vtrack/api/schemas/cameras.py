"""Camera, group, summary and import responses."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from vtrack.api.envelope import ApiModel
from vtrack.db.models import Camera, CameraGroup


class CameraOut(ApiModel):
    id: str
    name: str
    description: str | None
    location: str | None
    group_id: str | None
    group_name: str | None
    protocol: str
    rtsp_url: str = Field(description="Without credentials; they are stored encrypted apart")
    onvif_url: str | None
    username: str | None
    has_password: bool
    manufacturer: str | None
    model: str | None
    resolution: str | None
    fps: int | None
    codec: str | None
    status: str
    is_active: bool
    enable_detection: bool
    detection_sensitivity: float
    last_connected_at: datetime | None
    last_checked_at: datetime | None
    source_id: str | None = Field(description="The source (NVR, ONVIF device) the camera was added from")
    channel: int | None
    sub_stream_url: str | None
    snapshot_url: str | None
    serial_number: str | None
    firmware: str | None
    capabilities: list[str]
    retention_max_age_days: int | None
    retention_max_gb: float | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, camera: Camera) -> CameraOut:
        return cls(
            id=camera.id,
            name=camera.name,
            description=camera.description,
            location=camera.location,
            group_id=camera.group_id,
            group_name=camera.group.name if camera.group else None,
            protocol=camera.protocol,
            rtsp_url=camera.rtsp_url,
            onvif_url=camera.onvif_url,
            username=camera.username,
            has_password=bool(camera.password_encrypted),
            manufacturer=camera.manufacturer,
            model=camera.model,
            resolution=camera.resolution,
            fps=camera.fps,
            codec=camera.codec,
            status=camera.status,
            is_active=camera.is_active,
            enable_detection=camera.enable_detection,
            detection_sensitivity=camera.detection_sensitivity,
            last_connected_at=camera.last_connected_at,
            last_checked_at=camera.last_checked_at,
            source_id=camera.source_id,
            channel=camera.channel,
            sub_stream_url=camera.sub_stream_url,
            snapshot_url=camera.snapshot_url,
            serial_number=camera.serial_number,
            firmware=camera.firmware,
            capabilities=[str(c) for c in camera.capabilities or []],
            retention_max_age_days=camera.retention_max_age_days,
            retention_max_gb=camera.retention_max_gb,
            created_at=camera.created_at,
            updated_at=camera.updated_at,
        )


class GroupOut(ApiModel):
    id: str
    name: str
    location: str | None
    description: str | None
    camera_count: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, group: CameraGroup, camera_count: int) -> GroupOut:
        return cls(
            id=group.id,
            name=group.name,
            location=group.location,
            description=group.description,
            camera_count=camera_count,
            created_at=group.created_at,
            updated_at=group.updated_at,
        )


class GroupCount(ApiModel):
    group_id: str | None
    name: str | None
    count: int


class CameraSummary(ApiModel):
    total: int
    active: int
    inactive: int
    detection_enabled: int
    by_status: dict[str, int]
    by_group: list[GroupCount]


class ImportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


class ImportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: ImportFormat
    data: str = Field(min_length=1, max_length=30_000_000, description="The file, base64-encoded")
    group_id: str | None = Field(default=None, max_length=36)
    skip_duplicates: bool = False


class ImportOut(ApiModel):
    created: int
    skipped: list[dict[str, Any]]
    groups_created: list[str]
    camera_ids: list[str]

"""Video source responses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from vtrack.api.envelope import ApiModel
from vtrack.db.models import VideoSource


class SourceOut(ApiModel):
    id: str
    name: str
    type: str
    protocol: str | None
    host: str | None
    port: int | None
    username: str | None
    has_password: bool
    detected_cameras: list[dict[str, Any]]
    selected_cameras: list[str]
    camera_ids: list[str]
    is_active: bool
    status: str
    last_error: str | None
    probed_at: datetime | None
    config: dict[str, Any]
    owner_id: str | None
    account_id: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, source: VideoSource, camera_ids: list[str]) -> SourceOut:
        return cls(
            id=source.id,
            name=source.name,
            type=source.source_type,
            protocol=source.protocol,
            host=source.host,
            port=source.port,
            username=source.username,
            has_password=bool(source.secret_encrypted),
            detected_cameras=list(source.detected_cameras),
            selected_cameras=list(source.selected_cameras),
            camera_ids=camera_ids,
            is_active=source.is_active,
            status=source.status,
            last_error=source.last_error,
            probed_at=source.probed_at,
            config=dict(source.config),
            owner_id=source.owner_id,
            account_id=source.account_id,
            created_at=source.created_at,
            updated_at=source.updated_at,
        )

"""Test-connection and snapshot requests and responses (seed 003's shapes)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from vtrack.api.envelope import ApiModel


class TestConnectionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timeout_seconds: float = Field(default=10.0, ge=0.5, le=60)
    check_credentials: bool = True
    frames: int = Field(default=10, ge=1, le=250, description="Frames to decode to measure fps")


class TestConnectionOut(ApiModel):
    success: bool
    camera_id: str
    message: str
    latency_ms: float | None
    resolution: str | None
    fps: float | None
    codec: str | None
    kind: str | None = Field(
        description="Why it failed: auth, timeout, unreachable, codec, not_found, protocol"
    )


class SnapshotRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timeout_seconds: float = Field(default=10.0, ge=0.5, le=60)
    save_thumbnail: bool = True


class SnapshotOut(ApiModel):
    id: str
    camera_id: str
    url: str = Field(description="Signed link to the JPEG; works without a token until it expires")
    thumbnail_url: str | None
    width: int | None
    height: int | None
    file_size: int | None
    method: str | None = Field(description="onvif, vendor (the camera's snapshot URL) or rtsp (decoded)")
    captured_at: datetime
    expires_at: datetime | None


# Not a test class, despite the name pytest would collect from modules that import it.
TestConnectionRequest.__test__ = False  # type: ignore[attr-defined]
TestConnectionOut.__test__ = False  # type: ignore[attr-defined]

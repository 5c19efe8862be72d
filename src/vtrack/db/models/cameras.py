"""Cameras, their groups, and what health checks and snapshots record about them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vtrack.db.base import Base, IdMixin, TimestampMixin
from vtrack.db.types import UTCDateTime, utcnow


class CameraGroup(IdMixin, TimestampMixin, Base):
    __tablename__ = "camera_groups"

    name: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    location: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(1000))


class Camera(IdMixin, TimestampMixin, Base):
    __tablename__ = "cameras"
    __table_args__ = (
        # Names are unique within a group, case-insensitively; ungrouped cameras share the '' group.
        Index(
            "uq_cameras_group_name",
            text("coalesce(group_id, '')"),
            text("lower(name)"),
            unique=True,
        ),
        Index("ix_cameras_created_at", "created_at"),
        Index("ix_cameras_name_lower", text("lower(name)")),
    )

    name: Mapped[str] = mapped_column(String(255), nullable=False)
    description: Mapped[str | None] = mapped_column(String(1000))
    location: Mapped[str | None] = mapped_column(String(255))
    group_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("camera_groups.id", ondelete="SET NULL"), index=True
    )
    protocol: Mapped[str] = mapped_column(String(16), default="rtsp", nullable=False)
    rtsp_url: Mapped[str] = mapped_column(String(2048), nullable=False)
    onvif_url: Mapped[str | None] = mapped_column(String(2048))
    username: Mapped[str | None] = mapped_column(String(255))
    password_encrypted: Mapped[str | None] = mapped_column(Text)
    manufacturer: Mapped[str | None] = mapped_column(String(128))
    model: Mapped[str | None] = mapped_column(String(128))
    resolution: Mapped[str | None] = mapped_column(String(32))
    fps: Mapped[int | None] = mapped_column(Integer)
    codec: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="idle", nullable=False, index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False, index=True)
    enable_detection: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    detection_sensitivity: Mapped[float] = mapped_column(Float, default=0.7, nullable=False)
    last_connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Where the camera came from when a source (NVR, ONVIF device) created it; channel on that device.
    source_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("video_sources.id", ondelete="SET NULL"), index=True
    )
    channel: Mapped[int | None] = mapped_column(Integer)
    sub_stream_url: Mapped[str | None] = mapped_column(String(2048))
    snapshot_url: Mapped[str | None] = mapped_column(String(2048))
    serial_number: Mapped[str | None] = mapped_column(String(128))
    firmware: Mapped[str | None] = mapped_column(String(128))
    capabilities: Mapped[list[Any]] = mapped_column(JSON, default=list, nullable=False)
    # Health hysteresis survives restarts and is shared by every worker: consecutive results so far.
    health_failures: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    health_successes: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # This camera's archive limits; unset: the VTRACK_RETENTION_* defaults apply.
    retention_max_age_days: Mapped[int | None] = mapped_column(Integer)
    retention_max_gb: Mapped[float | None] = mapped_column(Float)

    group: Mapped[CameraGroup | None] = relationship(lazy="joined")


class CameraHealth(IdMixin, Base):
    __tablename__ = "camera_health"
    __table_args__ = (Index("ix_camera_health_camera_checked", "camera_id", "checked_at"),)

    camera_id: Mapped[str] = mapped_column(String(36), ForeignKey("cameras.id", ondelete="CASCADE"))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    is_connected: Mapped[bool] = mapped_column(Boolean, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    fps_actual: Mapped[float | None] = mapped_column(Float)
    first_frame_ms: Mapped[float | None] = mapped_column(Float)
    error_kind: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(String(1000))


class CameraSnapshot(IdMixin, Base):
    __tablename__ = "camera_snapshots"
    __table_args__ = (Index("ix_camera_snapshots_camera_captured", "camera_id", "captured_at"),)

    camera_id: Mapped[str] = mapped_column(String(36), ForeignKey("cameras.id", ondelete="CASCADE"))
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    storage_path: Mapped[str] = mapped_column(String(1024), nullable=False)
    file_size: Mapped[int | None] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    thumbnail_path: Mapped[str | None] = mapped_column(String(1024))
    thumbnail_size: Mapped[int | None] = mapped_column(Integer)
    method: Mapped[str | None] = mapped_column(String(16))  # onvif, vendor or rtsp: how the frame was taken

"""Where recordings come from: an NVR, an ONVIF device, a cloud drive or a camera cloud (seed 000)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vtrack.db.base import Base, IdMixin, TimestampMixin
from vtrack.db.types import UTCDateTime


class VideoSource(IdMixin, TimestampMixin, Base):
    __tablename__ = "video_sources"

    name: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    source_type: Mapped[str] = mapped_column(String(32), nullable=False)
    protocol: Mapped[str | None] = mapped_column(String(32))
    host: Mapped[str | None] = mapped_column(String(255))
    port: Mapped[int | None] = mapped_column(Integer)
    username: Mapped[str | None] = mapped_column(String(255))
    secret_encrypted: Mapped[str | None] = mapped_column(Text)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)
    detected_cameras: Mapped[list[Any]] = mapped_column(JSON, default=list, nullable=False)
    selected_cameras: Mapped[list[Any]] = mapped_column(JSON, default=list, nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    probed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="ok", nullable=False)
    last_error: Mapped[str | None] = mapped_column(String(1000))
    # Cloud sources belong to the user who connected them (device sources: None, shared by the site).
    owner_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("cloud_accounts.id", ondelete="SET NULL")
    )

"""What recording sync knows: each camera's remote recordings, each archived file, each source's schedule.

`downloaded_files` is the archive's index: a file is in the archive only if a row says so (state done),
which is what lets retention delete only files it knows, and lets a re-run skip what is already there.
A row is written `downloading` before the first byte and `done` after the rename, so a killed process
leaves a row that the next run resumes (and a `.part` file the archive cleans up), never a file at its
final path that no row knows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from vtrack.db.base import Base, IdMixin, TimestampMixin
from vtrack.db.types import UTCDateTime, utcnow


class Recording(IdMixin, Base):
    """One recorded span on the device (a Profile G recording span, an ISAPI match, a Dahua file)."""

    __tablename__ = "recordings"
    __table_args__ = (
        UniqueConstraint("camera_id", "remote_id", name="uq_recordings_camera_remote"),
        Index("ix_recordings_camera_start", "camera_id", "start_at"),
    )

    source_id: Mapped[str] = mapped_column(String(36), ForeignKey("video_sources.id", ondelete="CASCADE"))
    camera_id: Mapped[str] = mapped_column(String(36), ForeignKey("cameras.id", ondelete="CASCADE"))
    remote_id: Mapped[str] = mapped_column(String(1024), nullable=False)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # onvif_replay or http
    url: Mapped[str] = mapped_column(String(2048), nullable=False)
    container: Mapped[str | None] = mapped_column(String(16))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class DownloadedFile(IdMixin, TimestampMixin, Base):
    """One archive file: a chunk of a camera's recording, from `range_start` to `range_end`."""

    __tablename__ = "downloaded_files"
    __table_args__ = (
        UniqueConstraint("camera_id", "range_start", name="uq_downloaded_files_camera_start"),
        Index("ix_downloaded_files_source_state", "source_id", "state"),
        Index("ix_downloaded_files_camera_end", "camera_id", "range_end"),
    )

    source_id: Mapped[str] = mapped_column(String(36), ForeignKey("video_sources.id", ondelete="CASCADE"))
    camera_id: Mapped[str] = mapped_column(String(36), ForeignKey("cameras.id", ondelete="CASCADE"))
    remote_id: Mapped[str] = mapped_column(String(1024), nullable=False)
    range_start: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    range_end: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    path: Mapped[str] = mapped_column(String(1024), nullable=False)  # relative to the archive root
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(16), default="pending", nullable=False)  # see FILE_STATES
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    error: Mapped[str | None] = mapped_column(String(1000))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


FILE_STATES = ("pending", "downloading", "done", "failed", "deleted")


class SyncStatus(TimestampMixin, Base):
    """Per source: is sync on, how often, how did the last run go, when is the next."""

    __tablename__ = "sync_status"

    source_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("video_sources.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    interval_seconds: Mapped[int] = mapped_column(Integer, default=600, nullable=False)
    state: Mapped[str] = mapped_column(
        String(16), default="idle", nullable=False
    )  # idle running paused error
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_job_id: Mapped[str | None] = mapped_column(String(36))
    error: Mapped[str | None] = mapped_column(String(1000))
    error_kind: Mapped[str | None] = mapped_column(String(32))
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    cursor: Mapped[str | None] = mapped_column(Text)  # a cloud connector's change cursor, saved per page

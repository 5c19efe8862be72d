"""People analytics: live channels, runs over a channel or a file, and what each run saw.

Events and tracks are written in batches by a buffered sink, so their primary keys are plain
auto-increment integers (cheap to insert in bulk) rather than the uuids of user-managed entities.

`analytics_counts` is a per-minute roll-up of `analytics_events`, recomputed for the minutes a flush
touched. It is derived data: a track's gender is only final when the track ends, after some of its
crossings were written, so the sink updates those events and re-rolls their minutes rather than
incrementing counters it could not correct.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from vtrack.db.base import Base, IdMixin, TimestampMixin
from vtrack.db.types import UTCDateTime


class AnalyticsChannel(IdMixin, TimestampMixin, Base):
    """A live stream the server analyses while `enabled`: a registered camera's or a plain RTSP URL."""

    __tablename__ = "analytics_channels"

    name: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    camera_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("cameras.id", ondelete="SET NULL"), index=True
    )
    url: Mapped[str | None] = mapped_column(String(2048))  # without credentials; None = the camera's URL
    username: Mapped[str | None] = mapped_column(String(255))
    password_encrypted: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(255))  # e.g. "channel_1" in a site JSON file
    site: Mapped[str | None] = mapped_column(String(255))
    detector: Mapped[str | None] = mapped_column(String(16))  # None = the server's default
    lines: Mapped[list[Any]] = mapped_column(JSON, default=list, nullable=False)
    zones: Mapped[list[Any]] = mapped_column(JSON, default=list, nullable=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)


class AnalyticsRun(IdMixin, Base):
    __tablename__ = "analytics_runs"
    __table_args__ = (Index("ix_analytics_runs_channel_started", "channel_id", "started_at"),)

    channel_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("analytics_channels.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(8), nullable=False)  # "live" | "file"
    source: Mapped[str] = mapped_column(String(2048), nullable=False)  # file path or URL without secrets
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # running|finished|failed|interrupted
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)
    error: Mapped[str | None] = mapped_column(String(1000))
    node: Mapped[str | None] = mapped_column(String(255))  # the process that ran it (step 8)


class AnalyticsTrack(Base):
    __tablename__ = "analytics_tracks"
    __table_args__ = (UniqueConstraint("run_id", "track_id", name="uq_analytics_tracks_run_track"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(36), ForeignKey("analytics_runs.id", ondelete="CASCADE"))
    track_id: Mapped[int] = mapped_column(Integer, nullable=False)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    frames: Mapped[int] = mapped_column(Integer, nullable=False)
    path: Mapped[list[Any]] = mapped_column(JSON, default=list, nullable=False)  # [[t_offset_s, x, y], ...]
    gender: Mapped[str] = mapped_column(String(8), default="unknown", nullable=False)
    gender_confidence: Mapped[float] = mapped_column(Float, default=0.0, nullable=False)
    age: Mapped[float | None] = mapped_column(Float)


class AnalyticsEvent(Base):
    __tablename__ = "analytics_events"
    __table_args__ = (
        Index("ix_analytics_events_channel_at", "channel_id", "at"),
        Index("ix_analytics_events_run_track", "run_id", "track_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(36), ForeignKey("analytics_runs.id", ondelete="CASCADE"))
    channel_id: Mapped[str | None] = mapped_column(String(36))  # copied from the run, for range queries
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # line | zone_enter | zone_exit
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    direction: Mapped[str | None] = mapped_column(String(4))
    track_id: Mapped[int] = mapped_column(Integer, nullable=False)
    dwell_seconds: Mapped[float | None] = mapped_column(Float)
    gender: Mapped[str] = mapped_column(String(8), default="unknown", nullable=False)


class AnalyticsCount(Base):
    """Per run, minute and line/zone: the roll-up the counts API reads."""

    __tablename__ = "analytics_counts"
    __table_args__ = (
        UniqueConstraint("run_id", "minute", "kind", "name", name="uq_analytics_counts_run_minute_name"),
        Index("ix_analytics_counts_channel_minute", "channel_id", "minute"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(36), ForeignKey("analytics_runs.id", ondelete="CASCADE"))
    channel_id: Mapped[str | None] = mapped_column(String(36))
    minute: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)  # line | zone
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    in_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)  # zones: entries
    out_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)  # zones: exits
    dwell_total: Mapped[float] = mapped_column(Float, default=0.0, nullable=False)  # zones: summed on exit
    male_in: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    female_in: Mapped[int] = mapped_column(Integer, default=0, nullable=False)


class AnalyticsLease(Base):
    """Which node runs a live channel, for as long as its heartbeat keeps `expires_at` ahead (step 8).

    A node takes a channel only when the row is missing or lapsed, in one conditional statement, so
    two nodes can never both hold it; a node that cannot renew stops the channel before the lease ends.
    """

    __tablename__ = "analytics_leases"

    channel_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("analytics_channels.id", ondelete="CASCADE"), primary_key=True
    )
    node: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class AnalyticsNode(Base):
    """A live analytics node and its last heartbeat: how many share the channels, for a fair split."""

    __tablename__ = "analytics_nodes"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    capacity: Mapped[int] = mapped_column(Integer, nullable=False)  # 0 = no limit
    # The health of its channels at its last heartbeat, so the server can show channels run elsewhere.
    channels: Mapped[dict[str, Any] | None] = mapped_column(JSON)

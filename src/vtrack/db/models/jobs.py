"""One row per run of a background job, so status and progress survive the process and are readable."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vtrack.db.base import Base, IdMixin
from vtrack.db.types import UTCDateTime, utcnow


class JobRun(IdMixin, Base):
    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_name_created", "name", "created_at"),)

    name: Mapped[str] = mapped_column(String(128), nullable=False)
    status: Mapped[str] = mapped_column(String(16), default="queued", nullable=False, index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)
    progress: Mapped[float] = mapped_column(Float, default=0.0, nullable=False)
    message: Mapped[str | None] = mapped_column(String(1000))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    trigger: Mapped[str] = mapped_column(String(16), default="manual", nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Distributed runs (step 8): how many times a worker took the run, which one has it now, and until
    # when its heartbeat holds it. A run whose lease lapsed lost its worker and is handed to another.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0", nullable=False)
    worker: Mapped[str | None] = mapped_column(String(255))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

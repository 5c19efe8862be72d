"""Sync requests and views: start a run, its progress, a source's sync status."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from vtrack.api.envelope import ApiModel
from vtrack.db.models import JobRun, SyncStatus

# The job runner's words, as the issue names a sync job's states.
SYNC_STATES: dict[str, Literal["queued", "running", "done", "failed"]] = {
    "queued": "queued",
    "running": "running",
    "succeeded": "done",
    "failed": "failed",
    "cancelled": "failed",
}


class SyncNow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: datetime | None = Field(default=None, description="ISO 8601; default: the lookback window")
    end: datetime | None = Field(default=None, description="ISO 8601; default: now")
    cameras: list[str] | None = Field(default=None, max_length=1000, description="camera ids; default: all")

    @model_validator(mode="after")
    def _range(self) -> SyncNow:
        for name in ("start", "end"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} needs a time zone (e.g. 2026-11-20T08:00:00+07:00 or ...Z)")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class DownloadRequest(SyncNow):
    """POST /download-nvr-videos: an explicit range (seed 001)."""

    source_id: str = Field(min_length=1, max_length=36)
    start: datetime
    end: datetime


class SyncStarted(ApiModel):
    job_id: str
    state: str


class SyncJobOut(ApiModel):
    job_id: str
    source_id: str | None
    state: Literal["queued", "running", "done", "failed"]
    progress: float
    message: str | None
    error: str | None
    segments_total: int | None = None
    segments_done: int | None = None
    segments_failed: int | None = None
    bytes_done: int | None = None
    speed_bytes_per_second: float | None = None
    realtime_factor: float | None = None
    eta_seconds: float | None = None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    result: dict[str, Any] | None

    @classmethod
    def of(cls, run: JobRun) -> SyncJobOut:
        figures = run.result or {}
        return cls(
            job_id=run.id,
            source_id=(run.params or {}).get("source_id"),
            state=SYNC_STATES.get(run.status, "failed"),
            progress=run.progress,
            message=run.message,
            error=run.error,
            segments_total=figures.get("segments_total", figures.get("chunks_planned")),
            segments_done=figures.get("segments_done", figures.get("chunks_done")),
            segments_failed=figures.get("segments_failed", figures.get("chunks_failed")),
            bytes_done=figures.get("bytes_done"),
            speed_bytes_per_second=figures.get("speed_bytes_per_second"),
            realtime_factor=figures.get("realtime_factor"),
            eta_seconds=figures.get("eta_seconds"),
            created_at=run.created_at,
            started_at=run.started_at,
            finished_at=run.finished_at,
            result=run.result,
        )


class SyncStatusOut(ApiModel):
    source_id: str
    enabled: bool
    interval_seconds: int
    state: str
    last_run_at: datetime | None
    last_success_at: datetime | None
    next_run_at: datetime | None
    last_job_id: str | None
    error: str | None
    error_kind: str | None
    files: dict[str, int] = Field(description="archive files of this source by state")
    bytes_archived: int
    working_directory: str

    @classmethod
    def of(cls, status: SyncStatus, files: dict[str, int], size: int, directory: str) -> SyncStatusOut:
        return cls(
            source_id=status.source_id,
            enabled=status.enabled,
            interval_seconds=status.interval_seconds,
            state=status.state,
            last_run_at=status.last_run_at,
            last_success_at=status.last_success_at,
            next_run_at=status.next_run_at,
            last_job_id=status.last_job_id,
            error=status.error,
            error_kind=status.error_kind,
            files=files,
            bytes_archived=size,
            working_directory=directory,
        )


class SyncSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = None
    interval_seconds: int | None = Field(default=None, ge=60, le=7 * 24 * 3600)

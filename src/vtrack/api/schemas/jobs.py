"""Job run and job type models."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from vtrack.api.envelope import ApiModel


class JobRunOut(ApiModel):
    id: str
    name: str
    status: str
    params: dict[str, Any]
    progress: float
    message: str | None
    result: dict[str, Any] | None
    error: str | None
    trigger: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int = Field(description="times a worker took the run (a retry or a resumed run adds one)")
    worker: str | None = Field(description="the worker process that has (or last had) it; Celery only")


class JobTypeOut(ApiModel):
    name: str
    description: str
    every_seconds: float | None


class JobSubmit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128)
    params: dict[str, Any] = Field(default_factory=dict)

"""Archived recordings as the API and the dashboard show them."""

from __future__ import annotations

import mimetypes
from datetime import datetime
from pathlib import PurePosixPath
from typing import Literal

from vtrack.api.envelope import ApiModel
from vtrack.db.models import CloudFile
from vtrack.db.repositories.recordings import ArchivedFile

# What browsers need to hear for the archive's containers; mimetypes' answers vary by platform.
CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".mkv": "video/x-matroska",
    ".webm": "video/webm",
    ".ts": "video/mp2t",
    ".avi": "video/x-msvideo",
}


def content_type(path: str) -> str:
    suffix = PurePosixPath(path).suffix.lower()
    return CONTENT_TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"


def file_content_type(item: ArchivedFile) -> str:
    """A cloud provider's own video/* type wins; anything else it says ("application/octet-stream", a
    binary/* guess) would stop a browser playing the file, so the extension decides then."""
    file = item.file
    stored = (file.content_type or "").split(";")[0].strip().lower() if isinstance(file, CloudFile) else ""
    if stored.startswith("video/") and len(stored) > len("video/"):
        return stored
    return content_type(file.path or "")


class RecordingOut(ApiModel):
    id: str
    kind: Literal["device", "cloud"]
    source_id: str
    source_name: str
    source_type: str
    camera_id: str | None  # None for a cloud file: a drive's video belongs to no camera
    camera_name: str | None
    remote_path: str | None  # a cloud file's path at the provider; None for a device recording
    start_at: datetime  # a cloud file's modified time
    end_at: datetime | None
    duration_seconds: float | None
    size_bytes: int | None
    container: str
    content_type: str
    path: str
    video_url: str

    @classmethod
    def of(cls, item: ArchivedFile) -> RecordingOut:
        file = item.file
        path = file.path or ""
        camera_id: str | None = None
        camera_name: str | None = None
        remote_path: str | None = None
        end_at: datetime | None = None
        seconds: float | None = None
        if isinstance(file, CloudFile):
            remote_path, start_at = file.remote_path, file.modified_at
        else:
            camera_id = file.camera_id
            camera_name = item.camera.name if item.camera else None
            start_at, end_at = file.range_start, file.range_end
            seconds = file.duration_seconds
            if seconds is None:
                seconds = (file.range_end - file.range_start).total_seconds()
        return cls(
            id=file.id,
            kind=item.kind,
            source_id=item.source.id,
            source_name=item.source.name,
            source_type=item.source.source_type,
            camera_id=camera_id,
            camera_name=camera_name,
            remote_path=remote_path,
            start_at=start_at,
            end_at=end_at,
            duration_seconds=seconds,
            size_bytes=file.size_bytes,
            container=PurePosixPath(path).suffix.lstrip(".").lower() or "unknown",
            content_type=file_content_type(item),
            path=path,
            video_url=f"/api/v1/recordings/{file.id}/video",
        )


class RecordingDetailOut(RecordingOut):
    previous_id: str | None = None
    next_id: str | None = None

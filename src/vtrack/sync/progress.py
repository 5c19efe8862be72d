"""Live figures of one sync run: what the job's progress, the API's sync job view and the CLI bar show."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SyncProgress:
    segments_total: int = 0
    segments_done: int = 0
    segments_failed: int = 0
    bytes_done: int = 0
    bytes_total: int = 0  # cloud files: their sizes are known before the download, media seconds are not
    media_seconds_total: float = 0.0
    media_seconds_done: float = 0.0
    started: float = field(default_factory=time.monotonic)

    @property
    def fraction(self) -> float:
        if self.media_seconds_total <= 0 and self.bytes_total > 0:
            return min(1.0, self.bytes_done / self.bytes_total)
        if self.media_seconds_total <= 0:
            return 1.0 if self.segments_total == 0 else (self.segments_done / self.segments_total)
        return min(1.0, self.media_seconds_done / self.media_seconds_total)

    @property
    def elapsed(self) -> float:
        return max(1e-6, time.monotonic() - self.started)

    @property
    def speed_bytes_per_second(self) -> float:
        return self.bytes_done / self.elapsed

    @property
    def realtime_factor(self) -> float:
        """Media seconds fetched per wall second: how many times faster than real time."""
        return self.media_seconds_done / self.elapsed

    @property
    def eta_seconds(self) -> float | None:
        if self.media_seconds_done <= 0 or self.media_seconds_total <= 0:
            return None
        remaining = self.media_seconds_total - self.media_seconds_done
        return max(0.0, remaining / self.realtime_factor)

    def as_dict(self) -> dict[str, Any]:
        eta = self.eta_seconds
        return {
            "segments_total": self.segments_total,
            "segments_done": self.segments_done,
            "segments_failed": self.segments_failed,
            "bytes_done": self.bytes_done,
            "bytes_total": self.bytes_total,
            "media_seconds_total": round(self.media_seconds_total, 1),
            "media_seconds_done": round(self.media_seconds_done, 1),
            "speed_bytes_per_second": round(self.speed_bytes_per_second),
            "realtime_factor": round(self.realtime_factor, 1),
            "eta_seconds": round(eta, 1) if eta is not None else None,
            "elapsed_seconds": round(self.elapsed, 1),
        }

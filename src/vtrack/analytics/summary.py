"""The per-run summary printed by `vtrack analyze --json`, stored on the run row and shown by the API."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from vtrack.analytics.live.stats import LatencyWindow


@dataclass
class RunMeter:
    """Frames and latency of one run, measured where the frames are processed."""

    started_mono: float = field(default_factory=time.monotonic)
    frames_in: int = 0
    frames_processed: int = 0
    latency: LatencyWindow = field(default_factory=lambda: LatencyWindow(size=100_000))

    def processed(self, captured_mono: float) -> None:
        self.frames_processed += 1
        self.latency.add((time.monotonic() - captured_mono) * 1000)

    def summary(self, source: str, totals: dict[str, Any], run_id: str | None) -> dict[str, Any]:
        elapsed = max(time.monotonic() - self.started_mono, 1e-9)
        p50, p95 = self.latency.percentile(50), self.latency.percentile(95)
        return {
            "run_id": run_id,
            "source": source,
            "frames_in": self.frames_in,
            "frames_processed": self.frames_processed,
            "seconds": round(elapsed, 2),
            "processed_fps": round(self.frames_processed / elapsed, 2),
            "latency_p50_ms": None if p50 is None else round(p50, 1),
            "latency_p95_ms": None if p95 is None else round(p95, 1),
            **totals,
        }

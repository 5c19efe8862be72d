"""Per-channel health figures, written by a channel's threads and read by the API and Prometheus.

Counters are plain ints updated under the GIL by one writer each (the reader thread owns `frames_in`,
the worker owns the rest); readers tolerate a value one frame stale. Rates are over a sliding window so
a stall shows up within seconds rather than being averaged away over the run.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

import numpy as np

WINDOW_SECONDS = 5.0
LATENCY_SAMPLES = 2048


class RateWindow:
    """Events per second over the last `window` seconds."""

    def __init__(self, window: float = WINDOW_SECONDS) -> None:
        self.window = window
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    def tick(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._times.append(now)
            self._trim(now)

    def _trim(self, now: float) -> None:
        while self._times and now - self._times[0] > self.window:
            self._times.popleft()

    def rate(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._trim(now)
            if len(self._times) < 2:
                return 0.0
            # n ticks bound n - 1 intervals; measuring to `now` (not the last tick) lets a stall show.
            return (len(self._times) - 1) / max(now - self._times[0], 1e-6)


class LatencyWindow:
    """The last N latencies in milliseconds, for percentiles that follow the current load."""

    def __init__(self, size: int = LATENCY_SAMPLES) -> None:
        self._samples: deque[float] = deque(maxlen=size)

    def add(self, milliseconds: float) -> None:
        self._samples.append(milliseconds)

    def percentile(self, q: float) -> float | None:
        samples = list(self._samples)
        return float(np.percentile(samples, q)) if samples else None


class ChannelStats:
    def __init__(self) -> None:
        self.state = "starting"  # starting | running | reconnecting | stopped | failed
        self.frames_in = 0
        self.frames_processed = 0
        self.dropped = 0  # decoded frames replaced by a newer one before the worker took them
        self.reconnects = 0
        self.last_error: str | None = None
        self.first_frame_at: float | None = None  # wall clock of the first frame ever received
        self.last_frame_at: float | None = None  # wall clock
        self.fps_in = RateWindow()
        self.fps_out = RateWindow()
        self.latency = LatencyWindow()  # capture -> frame analysed (counts published)
        self.event_latency = LatencyWindow()  # capture -> event committed to the database
        self.started_mono = time.monotonic()

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "fps_in": round(self.fps_in.rate(), 2),
            "fps_out": round(self.fps_out.rate(), 2),
            "frames_in": self.frames_in,
            "frames_processed": self.frames_processed,
            "dropped": self.dropped,
            "reconnects": self.reconnects,
            "latency_p50_ms": _rounded(self.latency.percentile(50)),
            "latency_p95_ms": _rounded(self.latency.percentile(95)),
            "event_latency_p95_ms": _rounded(self.event_latency.percentile(95)),
            "error": self.last_error,
            "uptime_seconds": round(time.monotonic() - self.started_mono, 1),
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)

"""Prometheus gauges per camera, so existing alerting (Alertmanager, Grafana) sees what the UI sees.

Labels are camera_id (stable) and name (what a person reads). A rename or a deleted camera would leave
its old series behind forever, so the gauges remember each camera's label values and remove a camera's
series when its name changes or it is no longer checked. Latency is exported in seconds, Prometheus'
base unit, so dashboards format it like every other duration.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge

from vtrack.health.checker import HealthSample
from vtrack.health.states import HealthStatus

_LABELS = ("camera_id", "name")
STATUSES = tuple(s.value for s in HealthStatus)


class HealthMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.up = Gauge(
            "vtrack_camera_up", "1 when the last check opened the stream", _LABELS, registry=registry
        )
        self.status = Gauge(
            "vtrack_camera_status",
            "1 for the camera's current health status, 0 for the others",
            (*_LABELS, "status"),
            registry=registry,
        )
        self.latency = Gauge(
            "vtrack_camera_latency_seconds",
            "Connect plus RTSP DESCRIBE round trip of the last successful check",
            _LABELS,
            registry=registry,
        )
        self.first_frame = Gauge(
            "vtrack_camera_first_frame_seconds",
            "Time to the first decoded frame in the last successful check",
            _LABELS,
            registry=registry,
        )
        self.fps = Gauge(
            "vtrack_camera_fps",
            "Frame rate measured by the last successful check",
            _LABELS,
            registry=registry,
        )
        self.last_check = Gauge(
            "vtrack_camera_last_check_timestamp_seconds",
            "Unix time of the last check",
            _LABELS,
            registry=registry,
        )
        self.checks = Counter(
            "vtrack_health_checks", "Health checks by result", ("result",), registry=registry
        )
        self.round_seconds = Gauge(
            "vtrack_health_round_duration_seconds",
            "Wall time of the last full health round",
            registry=registry,
        )
        self._per_camera = (self.up, self.latency, self.first_frame, self.fps, self.last_check)
        self._names: dict[str, str] = {}

    def observe(self, name: str, sample: HealthSample, status: str) -> None:
        camera_id = sample.camera_id
        if self._names.get(camera_id, name) != name:
            self.forget([camera_id])
        self._names[camera_id] = name
        self.up.labels(camera_id, name).set(1 if sample.ok else 0)
        for value in STATUSES:
            self.status.labels(camera_id, name, value).set(1 if value == status else 0)
        if sample.ok:
            if sample.latency_ms is not None:
                self.latency.labels(camera_id, name).set(sample.latency_ms / 1000)
            if sample.first_frame_ms is not None:
                self.first_frame.labels(camera_id, name).set(sample.first_frame_ms / 1000)
            if sample.fps is not None:
                self.fps.labels(camera_id, name).set(sample.fps)
        self.last_check.labels(camera_id, name).set(sample.checked_at.timestamp())
        self.checks.labels("ok" if sample.ok else (sample.error_kind or "error")).inc()

    def forget(self, camera_ids: Iterable[str]) -> None:
        """Remove every series of these cameras (deleted, deactivated, or renamed)."""
        for camera_id in camera_ids:
            name = self._names.pop(camera_id, None)
            if name is None:
                continue
            for gauge in self._per_camera:
                with contextlib.suppress(KeyError):  # never set (no successful check yet)
                    gauge.remove(camera_id, name)
            for value in STATUSES:
                with contextlib.suppress(KeyError):
                    self.status.remove(camera_id, name, value)

    def keep_only(self, camera_ids: Iterable[str]) -> None:
        """After a full round: drop series of cameras that round no longer checks."""
        wanted = set(camera_ids)
        self.forget([c for c in self._names if c not in wanted])

    @property
    def cameras(self) -> set[str]:
        return set(self._names)

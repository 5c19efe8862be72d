"""A simulated device per test, on a fixed clock so the archive's window is known."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from vtrack.simulator.config import SimulatorConfig, default_cameras

NOW = datetime(2026, 1, 8, 12, 5, 30, tzinfo=UTC)
USER, PASSWORD = "admin", "cam-pass-9"


def fixed_clock() -> datetime:
    return NOW


@pytest.fixture
def config() -> SimulatorConfig:
    return SimulatorConfig(cameras=default_cameras(2), username=USER, password=PASSWORD, rtsp_port=8554)

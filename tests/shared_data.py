"""Files the project is given in ../shared beside the checkout (never downloaded; tests skip without them)."""

from __future__ import annotations

from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
PEOPLE_VIDEO = SHARED / "data" / "people_walk_720p50.avi"
YOLOX_NANO = SHARED / "models" / "yolox_nano.onnx"

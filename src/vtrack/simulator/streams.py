"""A camera's two live streams, main and sub, named alike by every simulator service.

Real cameras and NVR channels encode a second, smaller stream for grids, phones and analytics; clients
pick one by ONVIF profile, by vendor path (Hikvision `/Streaming/Channels/102`, Dahua `subtype=1`) or by
snapshot size. The sub stream is derived from the camera, never configured: 640 wide at the camera's
aspect ratio (as vendors' default sub streams are), the camera's frame rate, always H.264 (what vendors
keep on the sub stream even when the main one is H.265). Deriving it at each use keeps it right when
`--video` changes a camera's size after start-up.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from vtrack.simulator.config import CameraSpec, Codec

Stream = Literal["main", "sub"]
STREAMS: tuple[Stream, ...] = ("main", "sub")
SUB_STREAM_MAX_WIDTH = 640
SUB_STREAM_CODEC: Codec = "h264"


def scaled_size(width: int, height: int, max_width: int = SUB_STREAM_MAX_WIDTH) -> tuple[int, int]:
    """`max_width` wide (never wider than the source) at the source's aspect ratio, both even (4:2:0)."""
    new_width = min(max_width, width) & ~1
    return new_width, max(16, round(new_width * height / width / 2) * 2)


def sub_stream_size(camera: CameraSpec) -> tuple[int, int]:
    return scaled_size(camera.width, camera.height)


def stream_spec(camera: CameraSpec, stream: Stream) -> CameraSpec:
    """What `stream` of `camera` sends. The sub stream's spec shares the camera's Faults object, so every
    switch flipped on the camera reaches both streams."""
    if stream == "main":
        return camera
    width, height = sub_stream_size(camera)
    return dataclasses.replace(camera, width=width, height=height, codec=SUB_STREAM_CODEC)


def profile_token(camera: CameraSpec, stream: Stream) -> str:
    return camera.token if stream == "main" else f"{camera.token}_sub"


def profile_name(camera: CameraSpec, stream: Stream) -> str:
    return camera.name if stream == "main" else f"{camera.name} sub"


def live_path(base: str, stream: Stream) -> str:
    """The simulator's own live path of a stream: `/live/{ch}` and `/live/{ch}/sub`."""
    return base if stream == "main" else f"{base.rstrip('/')}/sub"

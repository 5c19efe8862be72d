"""Still pictures for the snapshot endpoints: the live test pattern at the camera's clock, as a JPEG.

Encoded with FFmpeg's MJPEG encoder through PyAV, like a camera's JPEG encoder: full-range (yuvj420p) 4:2:0.
Rendering a 1080p frame takes tens of milliseconds, so callers run it in a worker thread.
"""

from __future__ import annotations

from datetime import datetime

import av

from vtrack.simulator.media.pattern import render_yuv420


def encode_jpeg(width: int, height: int, when: datetime, seed: int = 0, quality: int = 5) -> bytes:
    """One JPEG of the test pattern showing `when`; `quality` is FFmpeg's qscale (2 best .. 31 worst)."""
    frame_number = int(when.timestamp() * 25)
    image = render_yuv420(width, height, when, frame_number, seed)
    frame = av.VideoFrame.from_ndarray(image, format="yuv420p").reformat(format="yuvj420p")
    codec = av.CodecContext.create("mjpeg", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuvj420p"
    codec.options = {"qmin": str(quality), "qmax": str(quality)}
    packets = codec.encode(frame) + codec.encode(None)
    return b"".join(bytes(packet) for packet in packets)

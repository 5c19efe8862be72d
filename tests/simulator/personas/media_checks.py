"""What a client checks in downloaded media: it decodes, and it shows the time it should."""

from __future__ import annotations

import io
from datetime import datetime

import av
import numpy as np

from vtrack.simulator.media.pattern import text_mask


def decode_jpeg(data: bytes) -> tuple[int, int]:
    with av.open(io.BytesIO(data), "r") as container:
        frame = next(container.decode(video=0))
        return frame.width, frame.height


def clock_agreement(luma: np.ndarray, when: datetime) -> float:
    """Share of pixels in the burned-in clock area that match `when` drawn by the pattern's own font."""
    scale = max(2, luma.shape[0] // 120)
    expected = text_mask(when.strftime("%Y-%m-%d %H:%M:%S.") + f"{when.microsecond // 100_000}", scale)
    h, w = expected.shape
    region = luma[scale * 2 : scale * 2 + h, scale * 2 : scale * 2 + w] > 128
    return float(np.mean(region == expected))

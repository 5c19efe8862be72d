"""Reading the test pattern's burned-in text back from a decoded frame, glyph by glyph."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from vtrack.simulator.media.pattern import text_mask

CLOCK_ROW = 2  # in units of the pattern's scale: where the clock line starts
COUNTER_ROW = 12  # where the frame counter line starts


def read_line(luma: NDArray[np.uint8], row: int, length: int, charset: str) -> str:
    """The `length` characters of the pattern's text line at `row`, each matched against `charset`."""
    scale = max(2, luma.shape[0] // 120)
    text = ""
    for position in range(length):
        x = scale * 2 + position * 6 * scale
        cell = luma[scale * row : scale * row + 8 * scale, x : x + 6 * scale] > 128
        scores = {ch: float((cell == text_mask(ch, scale)).mean()) for ch in charset}
        text += max(scores, key=lambda ch: scores[ch])
    return text


def frame_counter(luma: NDArray[np.uint8]) -> int:
    return int(read_line(luma, COUNTER_ROW, 8, "0123456789"))


def clock_text(luma: NDArray[np.uint8]) -> str:
    """`YYYY-MM-DD HH:MM:SS.f` as burned in."""
    return read_line(luma, CLOCK_ROW, 21, "0123456789-: .")

"""The test pattern: moving shapes and the camera's clock burned in, so a viewer can tell live from stale.

Drawn with numpy and a built-in 5x7 bitmap font (no font files, no FFmpeg drawtext filter), in
YUV 4:2:0 planes that encoders take directly.
"""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

_GLYPHS = {
    "0": ("01110", "10001", "10011", "10101", "11001", "10001", "01110"),
    "1": ("00100", "01100", "00100", "00100", "00100", "00100", "01110"),
    "2": ("01110", "10001", "00001", "00010", "00100", "01000", "11111"),
    "3": ("11110", "00001", "00001", "01110", "00001", "00001", "11110"),
    "4": ("00010", "00110", "01010", "10010", "11111", "00010", "00010"),
    "5": ("11111", "10000", "11110", "00001", "00001", "10001", "01110"),
    "6": ("00110", "01000", "10000", "11110", "10001", "10001", "01110"),
    "7": ("11111", "00001", "00010", "00100", "01000", "01000", "01000"),
    "8": ("01110", "10001", "10001", "01110", "10001", "10001", "01110"),
    "9": ("01110", "10001", "10001", "01111", "00001", "00010", "01100"),
    ":": ("00000", "00100", "00100", "00000", "00100", "00100", "00000"),
    "-": ("00000", "00000", "00000", "11111", "00000", "00000", "00000"),
    ".": ("00000", "00000", "00000", "00000", "00000", "01100", "01100"),
    " ": ("00000",) * 7,
}
_BITMAPS = {
    ch: np.array([[c == "1" for c in row] for row in rows], dtype=bool) for ch, rows in _GLYPHS.items()
}


def text_mask(text: str, scale: int) -> NDArray[np.bool_]:
    """A boolean image of `text` (digits, ':', '-', '.', ' '), each glyph cell 6x8 before scaling."""
    cells = [np.pad(_BITMAPS.get(ch, _BITMAPS[" "]), ((0, 1), (0, 1))) for ch in text]
    row = np.concatenate(cells, axis=1) if cells else np.zeros((8, 0), dtype=bool)
    return np.kron(row, np.ones((scale, scale), dtype=bool)).astype(bool)


def render_yuv420(
    width: int, height: int, when: datetime, frame_number: int, seed: int = 0
) -> NDArray[np.uint8]:
    """One frame as a (height * 3 // 2, width) I420 array: luma plane, then the two chroma planes."""
    if width % 2 or height % 2:
        raise ValueError("width and height must be even for 4:2:0")
    y = np.empty((height, width), dtype=np.uint8)
    # Vertical luma bars, shifted by camera so cameras look different.
    bars = np.linspace(40, 220, 8, dtype=np.uint8)
    bar_index = (np.arange(width) * 8 // width + seed) % 8
    y[:] = bars[bar_index][None, :]
    u = np.full((height // 2, width // 2), 128, dtype=np.uint8)
    v = np.full((height // 2, width // 2), 128, dtype=np.uint8)
    u[:] = (np.arange(width // 2) * 255 // max(1, width // 2 - 1)).astype(np.uint8)[None, :]

    # A bright square moving on a circle and a dark bar sweeping across: motion for detectors and eyes.
    t = frame_number / 25.0
    side = max(8, min(width, height) // 8) & ~1
    cx = int((width - side) / 2 * (1 + 0.8 * math.cos(t)))
    cy = int((height - side) / 2 * (1 + 0.8 * math.sin(t)))
    y[cy : cy + side, cx : cx + side] = 235
    v[cy // 2 : (cy + side) // 2, cx // 2 : (cx + side) // 2] = 200
    bar_x = int((frame_number * 4) % max(1, width - side // 2))
    y[:, bar_x : bar_x + side // 4] = 16

    # The camera's clock and the frame number, white on a black box, top left.
    scale = max(2, height // 120)
    label = text_mask(when.strftime("%Y-%m-%d %H:%M:%S.") + f"{when.microsecond // 100_000}", scale)
    counter = text_mask(f"{frame_number:08d}", scale)
    for row_offset, mask in ((scale * 2, label), (scale * 12, counter)):
        h, w = mask.shape
        h, w = min(h, height - row_offset), min(w, width - scale * 2)
        if h <= 0 or w <= 0:
            continue
        region = y[row_offset : row_offset + h, scale * 2 : scale * 2 + w]
        region[:] = np.where(mask[:h, :w], 235, 16)
        u[row_offset // 2 : (row_offset + h) // 2, scale : scale + w // 2] = 128
        v[row_offset // 2 : (row_offset + h) // 2, scale : scale + w // 2] = 128
    return np.concatenate([y.ravel(), u.ravel(), v.ravel()]).reshape(height * 3 // 2, width)

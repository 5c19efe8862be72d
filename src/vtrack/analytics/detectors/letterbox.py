"""Letterboxing: fit a frame into the model's input without distorting people, and map boxes back.

Two conventions exist because the two model families were trained with different ones: YOLOX pads
right/bottom (content at the top-left), Ultralytics centres the content. Feeding a model the other
convention shifts every box by the padding, so each detector asks for its own.

The inverse uses the per-axis scale the resize really applied (new size / old size, after rounding to
whole pixels) rather than the nominal ratio, so boxes map back exactly instead of drifting by up to a
pixel at the far edge.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from vtrack.analytics.types import FloatArray, Image

FILL = 114  # the grey both families pad with in training


@dataclass(frozen=True)
class Letterbox:
    """Where a source frame landed in the model input: the resized content and its offset."""

    src_height: int
    src_width: int
    dst_height: int
    dst_width: int
    new_height: int
    new_width: int
    top: int
    left: int

    @classmethod
    def fit(cls, src_hw: tuple[int, int], dst_hw: tuple[int, int], centred: bool) -> Letterbox:
        (sh, sw), (dh, dw) = src_hw, dst_hw
        if min(sh, sw, dh, dw) <= 0:
            raise ValueError(f"letterbox sizes must be positive, got {src_hw} -> {dst_hw}")
        ratio = min(dh / sh, dw / sw)
        if centred:
            # Ultralytics: round the new size, split the padding, bias the odd pixel to bottom/right.
            nh, nw = min(dh, max(1, round(sh * ratio))), min(dw, max(1, round(sw * ratio)))
            top, left = round((dh - nh) / 2 - 0.1), round((dw - nw) / 2 - 0.1)
        else:
            # YOLOX truncates; the epsilon keeps an exact fit (416/1280*1280) from losing a pixel.
            nh, nw = min(dh, max(1, int(sh * ratio + 1e-6))), min(dw, max(1, int(sw * ratio + 1e-6)))
            top = left = 0
        return cls(sh, sw, dh, dw, nh, nw, top, left)

    @property
    def scale_x(self) -> float:
        return self.new_width / self.src_width

    @property
    def scale_y(self) -> float:
        return self.new_height / self.src_height

    def _affine(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        scale = np.array([self.scale_x, self.scale_y] * 2, np.float64)
        offset = np.array([self.left, self.top] * 2, np.float64)
        return scale, offset

    def to_input(self, xyxy: npt.ArrayLike) -> FloatArray:
        """Original-frame boxes -> model-input pixels."""
        scale, offset = self._affine()
        return (np.asarray(xyxy, np.float64).reshape(-1, 4) * scale + offset).astype(np.float32)

    def to_original(self, xyxy: npt.ArrayLike, clip: bool = True) -> FloatArray:
        """Model-input boxes -> original-frame pixels, clipped to the frame unless told otherwise."""
        scale, offset = self._affine()
        boxes = (np.asarray(xyxy, np.float64).reshape(-1, 4) - offset) / scale
        if clip:
            np.clip(boxes[:, 0::2], 0.0, self.src_width, out=boxes[:, 0::2])
            np.clip(boxes[:, 1::2], 0.0, self.src_height, out=boxes[:, 1::2])
        return boxes.astype(np.float32)


class Letterboxer:
    """Letterboxes frames into one reused canvas: resize writes straight into it, no per-frame allocation.

    The padding is painted only when the geometry changes (a new frame size), since consecutive frames
    of a stream overwrite exactly the same content rectangle.
    """

    def __init__(self, dst_hw: tuple[int, int], centred: bool) -> None:
        self.dst_hw = dst_hw
        self.centred = centred
        self.canvas: Image = np.full((dst_hw[0], dst_hw[1], 3), FILL, np.uint8)
        self._box: Letterbox | None = None

    def __call__(self, image: Image) -> Letterbox:
        """Fill `canvas` with `image` letterboxed; the returned geometry maps boxes back."""
        src_hw = (int(image.shape[0]), int(image.shape[1]))
        box = self._box
        if box is None or (box.src_height, box.src_width) != src_hw:
            box = Letterbox.fit(src_hw, self.dst_hw, self.centred)
            self.canvas[...] = FILL
            self._box = box
        content = self.canvas[box.top : box.top + box.new_height, box.left : box.left + box.new_width]
        if src_hw == (box.new_height, box.new_width):
            np.copyto(content, image)
        else:
            cv2.resize(image, (box.new_width, box.new_height), dst=content, interpolation=cv2.INTER_LINEAR)
        return box


def letterbox(image: Image, dst_hw: tuple[int, int], centred: bool) -> tuple[Image, Letterbox]:
    """One-off letterbox into a fresh array (tests, tools); detectors use a `Letterboxer`."""
    boxer = Letterboxer(dst_hw, centred)
    box = boxer(image)
    return boxer.canvas, box

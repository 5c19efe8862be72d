"""Person crops -> the model's input tensor: resize, channel order, scaling, layout, batching.

Crops are resized without keeping the aspect ratio: attribute models are trained on crops stretched to
their input size, and letterboxing a tall person into a square input would shrink them to a strip.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vtrack.analytics.classify.base import ClassifierConfig
from vtrack.analytics.errors import ModelError
from vtrack.analytics.types import FloatArray, Image


@dataclass(frozen=True)
class InputLayout:
    """The tensor a model takes: spatial size, NCHW or NHWC, and its batch size when fixed."""

    height: int
    width: int
    channels_last: bool = False
    batch: int | None = None  # None: the model takes any batch size


def input_layout(dims: Sequence[int | None], config: ClassifierConfig, path: Path) -> InputLayout:
    """Reads the layout from the model's input dims (None = dynamic); NHWC only when the last dim is 3
    and the second is not, since NCHW is what ONNX exports nearly always use."""
    if len(dims) != 4:
        raise ModelError(f"{path}: expected a 4-d image input, got shape {list(dims)}")
    batch, d1, d2, d3 = dims
    channels_last = d3 == 3 and d1 != 3
    channels, height, width = (d3, d1, d2) if channels_last else (d1, d2, d3)
    if channels not in (3, None):
        raise ModelError(f"{path}: expected 3 colour channels, got input shape {list(dims)}")
    if height is None or width is None:
        if config.input_size is None:
            raise ModelError(f"{path}: the model's input size is dynamic; set the classifier's input_size")
        height, width = config.input_size
    return InputLayout(height, width, channels_last, batch)


def to_batch(crops: Sequence[Image], layout: InputLayout, config: ClassifierConfig) -> FloatArray:
    size = (layout.width, layout.height)
    resized = np.empty((len(crops), layout.height, layout.width, 3), np.uint8)
    for i, crop in enumerate(crops):
        shrinking = crop.shape[0] >= layout.height and crop.shape[1] >= layout.width
        resized[i] = cv2.resize(crop, size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    if config.channels == "rgb":
        resized = resized[..., ::-1]
    batch = resized.astype(np.float32) * np.float32(1.0 / 255.0)
    mean = np.asarray(config.mean, np.float32)
    std = np.asarray(config.std, np.float32)
    batch = (batch - mean) / std
    if not layout.channels_last:
        batch = batch.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(batch, np.float32)


def chunks(batch: FloatArray, size: int | None) -> Iterator[tuple[FloatArray, int]]:
    """Splits a batch for a model with a fixed batch size, zero-padding the last piece; yields each piece
    with the number of real rows in it."""
    if size is None:
        yield batch, len(batch)
        return
    for start in range(0, len(batch), size):
        piece = batch[start : start + size]
        real = len(piece)
        if real < size:
            pad = np.zeros((size - real, *piece.shape[1:]), np.float32)
            piece = np.concatenate([piece, pad])
        yield piece, real

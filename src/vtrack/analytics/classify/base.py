"""What a gender/age model must provide, and how its input and output are to be read.

Public attribute models differ in small ways that silently ruin results when guessed wrong: which index
of the 2-way output is "male", whether the output is already a probability, RGB or BGR, 0..1 or 0..255,
age in years or divided by 100. The config spells each of these out, with defaults for the common
ONNX convention (RGB 0..1, logits in the order female, male, age in years).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from vtrack.analytics.errors import AnalyticsConfigError
from vtrack.analytics.types import Image


@dataclass(frozen=True)
class AttributeScores:
    """One crop's verdict: P(male) in 0..1 and, when the model has an age output, age in years."""

    male: float
    age: float | None = None


class AttributeModel(Protocol):
    def predict(self, crops: Sequence[Image]) -> list[AttributeScores]:
        """One result per crop (BGR person crops of any size), in order; [] for no crops."""
        ...


@dataclass(frozen=True)
class ClassifierConfig:
    """How to feed a model and read it.

    `labels` is the order of a 2-way gender output. `mean`/`std` apply to channels scaled to 0..1, in
    the model's channel order (as model cards list them), so a model that wants 0..255 uses
    std = (1/255,)*3. `softmax` means the gender output is logits (softmax over two, sigmoid over one);
    set it False when the model ends in its own softmax or sigmoid.
    `input_size` (height, width) is used only when the model leaves its spatial dims open. `channels` is
    the order the model expects; `age_scale` multiplies the age output (100 for models trained on age/100).
    `threads` caps the runtime's intra-op threads, as the detectors do, so channels share cores fairly.
    """

    labels: tuple[str, str] = ("female", "male")
    input_size: tuple[int, int] | None = None
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    softmax: bool = True
    channels: str = "rgb"
    age_scale: float = 1.0
    threads: int = 1

    def __post_init__(self) -> None:
        if sorted(self.labels) != ["female", "male"]:
            raise AnalyticsConfigError(
                "classifier", f"labels must be 'female' and 'male' in model order, got {self.labels}"
            )
        if self.input_size is not None and (len(self.input_size) != 2 or min(self.input_size) < 1):
            raise AnalyticsConfigError(
                "classifier", f"input_size must be (height, width) >= 1, got {self.input_size}"
            )
        if len(self.mean) != 3 or len(self.std) != 3:
            raise AnalyticsConfigError("classifier", "mean and std need one value per channel (3 each)")
        if not all(math.isfinite(v) for v in self.mean) or not all(
            math.isfinite(v) and v != 0 for v in self.std
        ):
            raise AnalyticsConfigError(
                "classifier", f"mean must be finite, std finite and non-zero: {self.mean}, {self.std}"
            )
        if self.channels not in ("rgb", "bgr"):
            raise AnalyticsConfigError(
                "classifier", f"channels must be 'rgb' or 'bgr', got {self.channels!r}"
            )
        if not math.isfinite(self.age_scale) or self.age_scale <= 0:
            raise AnalyticsConfigError("classifier", f"age_scale must be positive, got {self.age_scale}")
        if self.threads < 1:
            raise AnalyticsConfigError("classifier", f"threads must be at least 1, got {self.threads}")

"""The part of `predict` both runtimes share, so ONNX Runtime and OpenVINO read crops and results alike."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from vtrack.analytics.classify.base import AttributeScores, ClassifierConfig
from vtrack.analytics.classify.postprocess import to_scores
from vtrack.analytics.classify.preprocess import InputLayout, chunks, to_batch
from vtrack.analytics.types import FloatArray, Image

Outputs = tuple[npt.NDArray[np.generic], npt.NDArray[np.generic] | None]  # gender, age


def predict_with(
    run: Callable[[FloatArray], Outputs],
    crops: Sequence[Image],
    layout: InputLayout,
    config: ClassifierConfig,
    path: Path,
) -> list[AttributeScores]:
    if not crops:
        return []
    genders: list[npt.NDArray[np.generic]] = []
    ages: list[npt.NDArray[np.generic]] = []
    for piece, real in chunks(to_batch(crops, layout, config), layout.batch):
        gender, age = run(piece)
        genders.append(np.asarray(gender)[:real])
        if age is not None:
            ages.append(np.asarray(age)[:real])
    age_all = np.concatenate(ages) if ages else None
    return to_scores(np.concatenate(genders), age_all, len(crops), config, path)

"""Model outputs -> AttributeScores: which output is which, shape checks, softmax/sigmoid, label order.

Exported models often keep trailing 1x1 dims (an Intel IR's gender output is [N, 2, 1, 1]), so shapes are
compared after dropping every dim of size 1 past the batch.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from vtrack.analytics.classify.base import AttributeScores, ClassifierConfig
from vtrack.analytics.errors import ModelError

# "age", "age_conv3", "fc/age", "Age:0" -- but not "image" or "stage".
_AGE_NAME = re.compile(r"(?:^|[^a-z])age(?:[^a-z]|$)")


def is_age_name(name: str) -> bool:
    return _AGE_NAME.search(name.lower()) is not None


def pick_outputs(names: Sequence[str], path: Path) -> tuple[int, int | None]:
    """(gender output index, age output index or None): age is the first output named like "age",
    gender the first output that is not."""
    age = [i for i, name in enumerate(names) if is_age_name(name)]
    gender = [i for i in range(len(names)) if i not in age]
    if not gender:
        raise ModelError(f"{path}: no gender output among the outputs {list(names)}")
    return gender[0], (age[0] if age else None)


def check_output_dims(what: str, dims: Sequence[int | None], widths: tuple[int, ...], path: Path) -> None:
    """Refuses at load time an output whose known dims cannot be [N, width]."""
    rest = [d for d in dims[1:] if d != 1]
    if not dims or any(d is None for d in rest):
        return  # dynamic: checked on the first results instead
    width = int(np.prod([d for d in rest if d is not None])) if rest else 1
    if width not in widths:
        expected = " or ".join(f"[N, {w}]" for w in widths)
        raise ModelError(f"{path}: the {what} output has shape {list(dims)}, expected {expected}")


def to_scores(
    gender: npt.NDArray[np.generic],
    age: npt.NDArray[np.generic] | None,
    count: int,
    config: ClassifierConfig,
    path: Path,
) -> list[AttributeScores]:
    logits = _rows("gender", gender, count, (1, 2), path)
    if logits.shape[1] == 2:
        if config.softmax:
            shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
            logits = shifted / shifted.sum(axis=1, keepdims=True)
        male = logits[:, config.labels.index("male")]
    else:
        male = 1.0 / (1.0 + np.exp(-logits[:, 0])) if config.softmax else logits[:, 0]
    male = np.clip(male, 0.0, 1.0)
    years = None if age is None else _rows("age", age, count, (1,), path)[:, 0] * config.age_scale
    return [AttributeScores(float(male[i]), None if years is None else float(years[i])) for i in range(count)]


def _rows(
    what: str, values: npt.NDArray[np.generic], count: int, widths: tuple[int, ...], path: Path
) -> npt.NDArray[np.float64]:
    array = np.asarray(values, np.float64)
    if array.ndim == 0 or array.shape[0] != count or (array.size // max(count, 1)) not in widths:
        expected = " or ".join(f"[{count}, {w}]" for w in widths)
        raise ModelError(f"{path}: the {what} output has shape {list(array.shape)}, expected {expected}")
    return array.reshape(count, -1)

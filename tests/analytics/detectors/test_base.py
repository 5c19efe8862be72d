"""DetectorConfig validation names the offending setting; images are checked before any work."""

from __future__ import annotations

import numpy as np
import pytest

from vtrack.analytics.detectors.base import DetectorConfig, check_image
from vtrack.analytics.errors import AnalyticsConfigError


def test_defaults_are_valid() -> None:
    config = DetectorConfig()
    assert (config.confidence, config.nms_iou, config.input_size, config.threads) == (
        0.3,
        0.45,
        (416, 416),
        1,
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"confidence": 0.0}, "confidence"),
        ({"confidence": 1.5}, "confidence"),
        ({"nms_iou": -0.1}, "nms_iou"),
        ({"input_size": (416, 400)}, "input_size"),
        ({"input_size": (0, 416)}, "input_size"),
        ({"input_size": (416,)}, "input_size"),
        ({"threads": 0}, "threads"),
    ],
)
def test_bad_values_name_their_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(AnalyticsConfigError) as caught:
        DetectorConfig(**kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((10, 10), np.uint8),
        np.zeros((10, 10, 4), np.uint8),
        np.zeros((10, 10, 3), np.float32),
        np.zeros((0, 10, 3), np.uint8),
    ],
)
def test_non_bgr_images_are_refused(image: np.ndarray) -> None:
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        check_image(image)

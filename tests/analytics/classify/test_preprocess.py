"""Crops -> model input: layout detection, resize, channel order, scaling, fixed-batch chunking."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.analytics.classify.colour_model import RED, person_crop
from vtrack.analytics.classify.base import ClassifierConfig
from vtrack.analytics.classify.preprocess import InputLayout, chunks, input_layout, to_batch
from vtrack.analytics.errors import AnalyticsConfigError, ModelError

MODEL = Path("/models/attr.onnx")


def test_layouts_are_read_from_the_model_dims() -> None:
    config = ClassifierConfig()
    assert input_layout([None, 3, 64, 32], config, MODEL) == InputLayout(64, 32, False, None)
    assert input_layout([1, 64, 32, 3], config, MODEL) == InputLayout(64, 32, True, 1)
    # The model's size wins over the config's; the config fills in dynamic dims.
    assert input_layout([None, 3, 64, 32], ClassifierConfig(input_size=(8, 8)), MODEL).height == 64
    assert input_layout([None, 3, None, None], ClassifierConfig(input_size=(96, 48)), MODEL) == InputLayout(
        96, 48, False, None
    )


@pytest.mark.parametrize(
    ("dims", "needle"),
    [
        ([None, 3, 64], "4-d image input"),
        ([None, 1, 64, 64], "3 colour channels"),
        ([None, 3, None, None], "set the classifier's input_size"),
    ],
)
def test_unusable_inputs_name_the_model(dims: list[int | None], needle: str) -> None:
    with pytest.raises(ModelError) as caught:
        input_layout(dims, ClassifierConfig(), MODEL)
    assert str(MODEL) in str(caught.value) and needle in str(caught.value)


def test_crops_become_rgb_0_to_1_nchw_at_the_model_size() -> None:
    batch = to_batch(
        [person_crop(RED, 100, 40), person_crop((0, 255, 0), 10, 5)], InputLayout(20, 8), ClassifierConfig()
    )
    assert batch.shape == (2, 3, 20, 8) and batch.dtype == np.float32 and batch.flags.c_contiguous
    np.testing.assert_allclose(batch[0, :, 5, 5], [220 / 255, 60 / 255, 40 / 255], atol=1e-6)
    np.testing.assert_allclose(batch[1, :, 0, 0], [0.0, 1.0, 0.0], atol=1e-6)


def test_mean_std_bgr_and_nhwc() -> None:
    config = ClassifierConfig(mean=(0.5, 0.5, 0.5), std=(0.25, 0.5, 1.0), channels="bgr")
    batch = to_batch([person_crop((255, 0, 51))], InputLayout(4, 4, channels_last=True), config)
    assert batch.shape == (1, 4, 4, 3)
    np.testing.assert_allclose(batch[0, 1, 1], [(1.0 - 0.5) / 0.25, (0.0 - 0.5) / 0.5, 0.2 - 0.5], atol=1e-6)
    raw = to_batch([person_crop((10, 20, 30))], InputLayout(2, 2), ClassifierConfig(std=(1 / 255,) * 3))
    np.testing.assert_allclose(raw[0, :, 0, 0], [30.0, 20.0, 10.0], atol=1e-3)  # 0..255, RGB


def test_a_real_picture_is_resized_not_cropped() -> None:
    crop = np.zeros((100, 50, 3), np.uint8)
    crop[:50] = (255, 255, 255)  # white top half, black bottom half
    batch = to_batch([crop], InputLayout(10, 10), ClassifierConfig())
    assert batch[0, 0, :5].min() > 0.99 and batch[0, 0, 5:].max() < 0.01


def test_chunks_pad_the_last_piece_for_a_fixed_batch() -> None:
    batch = np.arange(5 * 2, dtype=np.float32).reshape(5, 2)
    assert [(p.shape, n) for p, n in chunks(batch, None)] == [((5, 2), 5)]
    pieces = list(chunks(batch, 2))
    assert [(p.shape, n) for p, n in pieces] == [((2, 2), 2), ((2, 2), 2), ((2, 2), 1)]
    np.testing.assert_array_equal(pieces[2][0], [[8.0, 9.0], [0.0, 0.0]])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"labels": ("male", "man")},
        {"input_size": (0, 10)},
        {"std": (1.0, 0.0, 1.0)},
        {"mean": (0.0, float("nan"), 0.0)},
        {"channels": "yuv"},
        {"age_scale": 0.0},
        {"threads": 0},
    ],
)
def test_bad_configs_name_the_classifier(kwargs: dict[str, object]) -> None:
    with pytest.raises(AnalyticsConfigError) as caught:
        ClassifierConfig(**kwargs)  # type: ignore[arg-type]
    assert caught.value.field == "classifier"

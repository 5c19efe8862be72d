"""Model outputs -> scores: which output is age, softmax or sigmoid, label order, age scale, shape errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vtrack.analytics.classify.base import ClassifierConfig
from vtrack.analytics.classify.postprocess import check_output_dims, pick_outputs, to_scores
from vtrack.analytics.errors import ModelError

MODEL = Path("/models/attr.onnx")


def test_age_is_the_output_named_like_age() -> None:
    assert pick_outputs(["prob", "age_conv3"], MODEL) == (0, 1)
    assert pick_outputs(["Age:0", "gender"], MODEL) == (1, 0)
    assert pick_outputs(["image_features", "stage2"], MODEL) == (0, None)  # "age" inside a word is not age
    with pytest.raises(ModelError, match="no gender output"):
        pick_outputs(["age"], MODEL)


def test_logits_go_through_softmax_in_label_order() -> None:
    logits = np.array([[0.0, np.log(3.0)], [2.0, 2.0]], np.float32)
    scores = to_scores(logits, None, 2, ClassifierConfig(), MODEL)
    assert [s.male for s in scores] == pytest.approx([0.75, 0.5])
    assert scores[0].age is None
    swapped = to_scores(logits, None, 2, ClassifierConfig(labels=("male", "female")), MODEL)
    assert [s.male for s in swapped] == pytest.approx([0.25, 0.5])


def test_probabilities_pass_through_and_trailing_unit_dims_are_dropped() -> None:
    probs = np.array([0.2, 0.8, 0.9, 0.1], np.float32).reshape(2, 2, 1, 1)  # an Intel IR's [N, 2, 1, 1]
    ages = np.array([0.25, 0.5], np.float32).reshape(2, 1, 1, 1)
    config = ClassifierConfig(softmax=False, age_scale=100.0)
    scores = to_scores(probs, ages, 2, config, MODEL)
    assert [(round(s.male, 5), round(s.age or 0, 3)) for s in scores] == [(0.8, 25.0), (0.1, 50.0)]


def test_a_single_output_is_p_male_through_a_sigmoid_unless_told_otherwise() -> None:
    single = np.array([[0.0], [np.log(4.0)]], np.float32)
    assert [s.male for s in to_scores(single, None, 2, ClassifierConfig(), MODEL)] == pytest.approx(
        [0.5, 0.8]
    )
    probs = np.array([[0.3], [1.2]], np.float32)
    assert [
        s.male for s in to_scores(probs, None, 2, ClassifierConfig(softmax=False), MODEL)
    ] == pytest.approx(
        [0.3, 1.0]  # clipped into 0..1
    )


@pytest.mark.parametrize(
    ("gender", "age", "needle"),
    [
        (np.zeros((2, 3)), None, "gender output has shape [2, 3]"),
        (np.zeros((3, 2)), None, "gender output has shape [3, 2]"),
        (np.zeros((2, 2)), np.zeros((2, 2)), "age output has shape [2, 2]"),
        (np.zeros(()), None, "gender output has shape []"),
    ],
)
def test_wrong_output_shapes_name_the_model(gender: np.ndarray, age: np.ndarray | None, needle: str) -> None:
    with pytest.raises(ModelError) as caught:
        to_scores(gender, age, 2, ClassifierConfig(), MODEL)
    assert str(MODEL) in str(caught.value) and needle in str(caught.value)


def test_static_output_dims_are_checked_at_load_time() -> None:
    check_output_dims("gender", [None, 2], (1, 2), MODEL)
    check_output_dims("gender", [1, 2, 1, 1], (1, 2), MODEL)
    check_output_dims("gender", [None, None], (1, 2), MODEL)  # dynamic: checked on results
    check_output_dims("age", [None, 1], (1,), MODEL)
    check_output_dims("age", [None], (1,), MODEL)
    with pytest.raises(ModelError, match=r"gender output has shape \[None, 1000\]"):
        check_output_dims("gender", [None, 1000], (1, 2), MODEL)
    with pytest.raises(ModelError, match="expected"):
        check_output_dims("age", [None, 101], (1,), MODEL)

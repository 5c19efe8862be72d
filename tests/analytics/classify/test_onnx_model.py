"""The ONNX Runtime attribute model on test-built models whose answers follow the crop's colours."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.analytics.classify.colour_model import BLUE, RED, build_colour_model, person_crop
from vtrack.analytics.classify.base import ClassifierConfig
from vtrack.analytics.classify.onnx_model import OnnxAttributeModel
from vtrack.analytics.errors import ModelError

GREEN_AGE = 10.0 + 80.0 * 60 / 255  # both colours have green 60


def test_red_crops_are_male_blue_ones_female_with_an_age(tmp_path: Path) -> None:
    model = OnnxAttributeModel(build_colour_model(tmp_path / "m.onnx"))
    scores = model.predict([person_crop(RED), person_crop(BLUE, 300, 90), person_crop((128, 60, 128))])
    assert scores[0].male > 0.99 and scores[1].male < 0.01 and scores[2].male == pytest.approx(0.5)
    assert [s.age for s in scores] == pytest.approx([GREEN_AGE] * 3, abs=1e-3)
    assert model.predict([]) == []


@pytest.mark.parametrize(
    ("variant", "config"),
    [
        ({"output": "probs"}, ClassifierConfig(softmax=False)),
        ({"output": "sigmoid"}, ClassifierConfig()),
        ({"male_first": True}, ClassifierConfig(labels=("male", "female"))),
        ({"nhwc": True}, ClassifierConfig()),
        ({"batch": 1}, ClassifierConfig()),
        ({"size": None}, ClassifierConfig(input_size=(48, 24))),
        ({"age": False}, ClassifierConfig()),
    ],
)
def test_model_conventions(tmp_path: Path, variant: dict[str, object], config: ClassifierConfig) -> None:
    model = OnnxAttributeModel(build_colour_model(tmp_path / "m.onnx", **variant), config)  # type: ignore[arg-type]
    crops = [person_crop(BLUE), person_crop(RED), person_crop(RED), person_crop(BLUE)]
    scores = model.predict(crops)
    assert [s.male > 0.5 for s in scores] == [False, True, True, False]
    assert all(abs(s.male - 0.5) > 0.45 for s in scores)
    if variant.get("age", True):
        assert [s.age for s in scores] == pytest.approx([GREEN_AGE] * 4, abs=1e-3)
    else:
        assert all(s.age is None for s in scores)


def test_wrong_labels_invert_the_answer(tmp_path: Path) -> None:
    """The label order is not guessed: a wrong config gives wrong answers, so it must be configurable."""
    model = OnnxAttributeModel(build_colour_model(tmp_path / "m.onnx", male_first=True))
    assert model.predict([person_crop(RED)])[0].male < 0.01


def test_a_wrong_gender_width_is_refused_naming_the_model(tmp_path: Path) -> None:
    path = build_colour_model(tmp_path / "three.onnx", gender_width=3)
    with pytest.raises(ModelError) as caught:
        OnnxAttributeModel(path)
    assert str(path) in str(caught.value) and "gender output" in str(caught.value)


def test_dynamic_size_without_input_size_is_refused(tmp_path: Path) -> None:
    path = build_colour_model(tmp_path / "dyn.onnx", size=None)
    with pytest.raises(ModelError, match="input_size"):
        OnnxAttributeModel(path)


def test_a_file_that_is_not_a_model_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "junk.onnx"
    path.write_bytes(b"definitely not protobuf")
    with pytest.raises(ModelError) as caught:
        OnnxAttributeModel(path)
    assert str(path) in str(caught.value)

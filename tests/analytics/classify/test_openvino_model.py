"""The OpenVINO attribute model, on the same test-built ONNX file and on IR saved from it."""

from __future__ import annotations

from pathlib import Path

import openvino as ov  # type: ignore[import-untyped]
import pytest

from tests.analytics.classify.colour_model import BLUE, RED, build_colour_model, person_crop
from vtrack.analytics.classify.base import ClassifierConfig
from vtrack.analytics.classify.onnx_model import OnnxAttributeModel
from vtrack.analytics.classify.openvino_model import OpenVinoAttributeModel
from vtrack.analytics.errors import ModelError

CROPS = [person_crop(RED), person_crop(BLUE, 200, 70), person_crop((90, 200, 120), 60, 60)]


def to_ir(onnx_path: Path) -> Path:
    xml = onnx_path.with_suffix(".xml")
    ov.save_model(ov.Core().read_model(str(onnx_path)), str(xml))
    return xml


@pytest.mark.parametrize("ir", [False, True], ids=["onnx", "ir"])
def test_openvino_agrees_with_onnx_runtime(tmp_path: Path, ir: bool) -> None:
    path = build_colour_model(tmp_path / "m.onnx")
    reference = OnnxAttributeModel(path).predict(CROPS)
    model = OpenVinoAttributeModel(to_ir(path) if ir else path)
    scores = model.predict(CROPS)
    assert scores[0].male > 0.99 and scores[1].male < 0.01
    # OpenVINO may run in bf16 on CPUs that have it: close, not identical.
    for got, want in zip(scores, reference, strict=True):
        assert got.male == pytest.approx(want.male, abs=0.02)
        assert got.age == pytest.approx(want.age, rel=0.01)


def test_fixed_batch_probabilities_nhwc_through_ir(tmp_path: Path) -> None:
    path = to_ir(build_colour_model(tmp_path / "m.onnx", output="probs", batch=1, nhwc=True, age=False))
    model = OpenVinoAttributeModel(path, ClassifierConfig(softmax=False))
    scores = model.predict(CROPS[:2] * 2)
    assert [s.male > 0.5 for s in scores] == [True, False, True, False]
    assert all(s.age is None for s in scores)


def test_openvino_refuses_bad_models_naming_them(tmp_path: Path) -> None:
    junk = tmp_path / "junk.xml"
    junk.write_text("<net>not really</net>")
    with pytest.raises(ModelError) as caught:
        OpenVinoAttributeModel(junk)
    assert str(junk) in str(caught.value)
    wide = build_colour_model(tmp_path / "wide.onnx", gender_width=5)
    with pytest.raises(ModelError, match="gender output"):
        OpenVinoAttributeModel(wide)

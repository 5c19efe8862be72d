"""Choosing the runtime by file suffix and backend, and the errors a user sees for a wrong choice."""

from __future__ import annotations

from pathlib import Path

import openvino as ov  # type: ignore[import-untyped]
import pytest

from tests.analytics.classify.colour_model import RED, build_colour_model, person_crop
from vtrack.analytics.classify.loader import load_attribute_model
from vtrack.analytics.classify.onnx_model import OnnxAttributeModel
from vtrack.analytics.classify.openvino_model import OpenVinoAttributeModel
from vtrack.analytics.errors import AnalyticsConfigError


def test_no_path_no_model() -> None:
    assert load_attribute_model(None) is None


def test_the_suffix_and_backend_pick_the_runtime(tmp_path: Path) -> None:
    onnx_path = build_colour_model(tmp_path / "m.onnx")
    xml_path = tmp_path / "m.xml"
    ov.save_model(ov.Core().read_model(str(onnx_path)), str(xml_path))
    assert isinstance(load_attribute_model(onnx_path), OnnxAttributeModel)
    assert isinstance(load_attribute_model(onnx_path, backend="onnxruntime"), OnnxAttributeModel)
    assert isinstance(load_attribute_model(onnx_path, backend="openvino"), OpenVinoAttributeModel)
    assert isinstance(load_attribute_model(xml_path), OpenVinoAttributeModel)
    model = load_attribute_model(xml_path, backend="openvino")
    assert model is not None and model.predict([person_crop(RED)])[0].male > 0.99


def test_errors_name_the_field(tmp_path: Path) -> None:
    with pytest.raises(AnalyticsConfigError) as caught:
        load_attribute_model(tmp_path / "missing.onnx")
    assert caught.value.field == "classifier" and "missing.onnx" in str(caught.value)
    other = tmp_path / "model.pt"
    other.write_bytes(b"x")
    with pytest.raises(AnalyticsConfigError, match=r"classifier: .*\.onnx or OpenVINO \.xml"):
        load_attribute_model(other)
    xml = tmp_path / "m.xml"
    xml.write_text("<net/>")
    with pytest.raises(AnalyticsConfigError) as caught:
        load_attribute_model(xml, backend="onnxruntime")
    assert caught.value.field == "classifier_backend"
    with pytest.raises(AnalyticsConfigError) as caught:
        load_attribute_model(xml, backend="tensorrt")
    assert caught.value.field == "classifier_backend" and "tensorrt" in str(caught.value)

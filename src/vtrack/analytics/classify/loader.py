"""Picks the runtime for an attribute model file; OpenVINO is imported only when it is used."""

from __future__ import annotations

from pathlib import Path

from vtrack.analytics.classify.base import AttributeModel, ClassifierConfig
from vtrack.analytics.errors import AnalyticsConfigError

BACKENDS = ("onnxruntime", "openvino")


def load_attribute_model(
    path: Path | None, config: ClassifierConfig | None = None, backend: str | None = None
) -> AttributeModel | None:
    """None without a path (attributes stay "unknown"). ".onnx" runs on ONNX Runtime unless `backend` is
    "openvino"; ".xml" (OpenVINO IR) always on OpenVINO. Raises AnalyticsConfigError for a missing file or
    an unusable choice, ModelError for a file that is not a usable model."""
    if path is None:
        return None
    if backend is not None and backend not in BACKENDS:
        raise AnalyticsConfigError("classifier_backend", f"{backend!r} is not one of {', '.join(BACKENDS)}")
    if not path.is_file():
        raise AnalyticsConfigError("classifier", f"{path}: no such file")
    config = config or ClassifierConfig()
    suffix = path.suffix.lower()
    if suffix == ".onnx" and backend != "openvino":
        from vtrack.analytics.classify.onnx_model import OnnxAttributeModel

        return OnnxAttributeModel(path, config)
    if suffix in (".onnx", ".xml"):
        if backend == "onnxruntime":
            raise AnalyticsConfigError(
                "classifier_backend", f"{path}: ONNX Runtime cannot run OpenVINO IR (.xml)"
            )
        from vtrack.analytics.classify.openvino_model import OpenVinoAttributeModel

        return OpenVinoAttributeModel(path, config)
    raise AnalyticsConfigError("classifier", f"{path}: expected a .onnx or OpenVINO .xml model file")

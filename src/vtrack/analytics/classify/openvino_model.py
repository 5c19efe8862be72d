"""Gender/age models run with OpenVINO on the CPU: Intel's IR (.xml + .bin) or an ONNX file.

OpenVINO is the natural runtime for Intel's own attribute models and is often faster than ONNX Runtime
on Intel CPUs; the conventions (outputs, shapes, config) are the same as for the ONNX Runtime model.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import openvino as ov  # type: ignore[import-untyped]  # ships .pyi files but no py.typed marker

from vtrack.analytics.classify.base import AttributeScores, ClassifierConfig
from vtrack.analytics.classify.inference import Outputs, predict_with
from vtrack.analytics.classify.postprocess import check_output_dims, is_age_name, pick_outputs
from vtrack.analytics.classify.preprocess import input_layout
from vtrack.analytics.errors import ModelError
from vtrack.analytics.types import FloatArray, Image

log = logging.getLogger(__name__)

_FLOAT_TYPES = {"f32": np.float32, "f16": np.float16}


def _dims(port: Any, path: Path) -> list[int | None]:
    shape = port.get_partial_shape()
    if shape.rank.is_dynamic:
        raise ModelError(f"{path}: a port of the model has no fixed rank")
    return [int(d.get_length()) if d.is_static else None for d in shape]


def _name(port: Any, index: int) -> str:
    names = sorted(port.get_names())
    matching = [n for n in names if is_age_name(n)]
    return str((matching or names or [f"output{index}"])[0])


class OpenVinoAttributeModel:
    """One infer request, reused: not for concurrent `predict` calls (one voter per channel thread)."""

    def __init__(self, path: Path, config: ClassifierConfig | None = None) -> None:
        self.path = path
        self.config = config or ClassifierConfig()
        core = ov.Core()
        try:
            model = core.read_model(str(path))
        except Exception as exc:  # OpenVINO raises RuntimeError subclasses with the parser's message
            raise ModelError(f"{path}: cannot load the attribute model ({exc})") from exc
        if len(model.inputs) != 1:
            raise ModelError(f"{path}: expected one image input, got {len(model.inputs)}")
        port = model.inputs[0]
        element = str(port.get_element_type().get_type_name())
        if element not in _FLOAT_TYPES:
            raise ModelError(f"{path}: expected a float input, got {element}")
        self._dtype = _FLOAT_TYPES[element]
        self.layout = input_layout(_dims(port, path), self.config, path)
        names = [_name(o, i) for i, o in enumerate(model.outputs)]
        gender, age = pick_outputs(names, path)
        check_output_dims("gender", _dims(model.outputs[gender], path), (1, 2), path)
        self._fetch = [gender]
        if age is not None:
            check_output_dims("age", _dims(model.outputs[age], path), (1,), path)
            self._fetch.append(age)
        try:
            compiled = core.compile_model(
                model, "CPU", {"INFERENCE_NUM_THREADS": self.config.threads, "PERFORMANCE_HINT": "LATENCY"}
            )
        except Exception as exc:
            raise ModelError(f"{path}: OpenVINO cannot compile the model for the CPU ({exc})") from exc
        self._request = compiled.create_infer_request()
        log.info("attribute model %s (OpenVINO): input %s, outputs %s", path, self.layout, names)

    def predict(self, crops: Sequence[Image]) -> list[AttributeScores]:
        return predict_with(self._run, crops, self.layout, self.config, self.path)

    def _run(self, batch: FloatArray) -> Outputs:
        try:
            self._request.infer({0: batch.astype(self._dtype, copy=False)})
        except Exception as exc:
            raise ModelError(f"{self.path}: inference failed ({exc})") from exc
        # The request's output buffers are reused by the next infer: copy them out.
        values = [np.array(self._request.get_output_tensor(i).data) for i in self._fetch]
        return values[0], (values[1] if len(values) > 1 else None)

"""Gender/age models run with ONNX Runtime on the CPU."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort  # type: ignore[import-untyped]  # ships no py.typed marker

from vtrack.analytics.classify.base import AttributeScores, ClassifierConfig
from vtrack.analytics.classify.inference import Outputs, predict_with
from vtrack.analytics.classify.postprocess import check_output_dims, pick_outputs
from vtrack.analytics.classify.preprocess import input_layout
from vtrack.analytics.errors import ModelError
from vtrack.analytics.types import FloatArray, Image

log = logging.getLogger(__name__)

_FLOAT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}


def _dims(shape: Sequence[object]) -> list[int | None]:
    """ORT reports dynamic dims as names or None."""
    return [d if isinstance(d, int) and d > 0 else None for d in shape]


class OnnxAttributeModel:
    """Not thread-safe to share between threads calling `predict` at once (one voter per channel thread)."""

    def __init__(self, path: Path, config: ClassifierConfig | None = None) -> None:
        self.path = path
        self.config = config or ClassifierConfig()
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.config.threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # ORT raises its own types (Fail, InvalidGraph, NoSuchFile, ...)
            raise ModelError(f"{path}: cannot load the attribute model ({exc})") from exc
        inputs = self._session.get_inputs()
        if len(inputs) != 1:
            raise ModelError(f"{path}: expected one image input, got {len(inputs)}")
        if inputs[0].type not in _FLOAT_TYPES:
            raise ModelError(f"{path}: expected a float input, got {inputs[0].type}")
        self._input = str(inputs[0].name)
        self._dtype = _FLOAT_TYPES[inputs[0].type]
        self.layout = input_layout(_dims(inputs[0].shape), self.config, path)
        outputs = self._session.get_outputs()
        names = [str(o.name) for o in outputs]
        gender, age = pick_outputs(names, path)
        check_output_dims("gender", _dims(outputs[gender].shape), (1, 2), path)
        self._fetch = [names[gender]]
        if age is not None:
            check_output_dims("age", _dims(outputs[age].shape), (1,), path)
            self._fetch.append(names[age])
        log.info("attribute model %s: input %s, outputs %s", path, self.layout, self._fetch)

    def predict(self, crops: Sequence[Image]) -> list[AttributeScores]:
        return predict_with(self._run, crops, self.layout, self.config, self.path)

    def _run(self, batch: FloatArray) -> Outputs:
        try:
            results = self._session.run(self._fetch, {self._input: batch.astype(self._dtype, copy=False)})
        except Exception as exc:  # a model that loads but fails on real input is still the model's fault
            raise ModelError(f"{self.path}: inference failed ({exc})") from exc
        return np.asarray(results[0]), (np.asarray(results[1]) if len(results) > 1 else None)

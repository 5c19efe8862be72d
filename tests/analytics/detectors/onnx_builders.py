"""Tiny ONNX models built by the tests, so detector decoding is checked against known raw outputs.

Each model outputs `base + gain * mean(images[:, channel])`: constant rows the test chooses, plus a
term that depends on the picture, which proves the detector fed the channel order, scaling and padding
it should (and that batches keep images apart).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

Dim = int | str


def build_model(
    path: Path,
    base: npt.NDArray[np.float32],
    gain: npt.NDArray[np.float32] | None = None,
    channel: int = 0,
    input_shape: tuple[Dim, Dim, Dim, Dim] = (1, 3, 416, 416),
    extra_input: bool = False,
    input_type: int = TensorProto.FLOAT,
    flatten: bool = False,
) -> Path:
    """`base`/`gain` are [1, X, Y]; the output is [batch, X, Y], or [batch, X*Y] when flattened."""
    gain = np.zeros_like(base) if gain is None else gain
    batch = input_shape[0]
    declared: tuple[Dim, ...] = (batch, *base.shape[1:])
    inits = [
        numpy_helper.from_array(base.astype(np.float32), "base"),
        numpy_helper.from_array(gain.astype(np.float32), "gain"),
        numpy_helper.from_array(np.array([channel], np.int64), "c0"),
        numpy_helper.from_array(np.array([channel + 1], np.int64), "c1"),
        numpy_helper.from_array(np.array([1], np.int64), "axis1"),
        numpy_helper.from_array(np.array([-1, 1, 1], np.int64), "shape3"),
        numpy_helper.from_array(np.array([0, -1], np.int64), "shape2"),
    ]
    nodes = [
        helper.make_node("Cast", ["images"], ["images_f"], to=TensorProto.FLOAT),
        helper.make_node("Slice", ["images_f", "c0", "c1", "axis1"], ["plane"]),
        helper.make_node("ReduceMean", ["plane"], ["mean4"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Reshape", ["mean4", "shape3"], ["mean"]),
        helper.make_node("Mul", ["gain", "mean"], ["term"]),
        helper.make_node("Add", ["base", "term"], ["sum" if flatten else "output"]),
    ]
    if flatten:  # a rank-2 output, as no detector produces
        nodes.append(helper.make_node("Reshape", ["sum", "shape2"], ["output"]))
        declared = (batch, int(np.prod(base.shape[1:])))
    inputs = [helper.make_tensor_value_info("images", input_type, list(input_shape))]
    if extra_input:
        inputs.append(helper.make_tensor_value_info("extra", TensorProto.FLOAT, [1]))
    graph = helper.make_graph(
        nodes,
        "crafted",
        inputs,
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, list(declared))],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path

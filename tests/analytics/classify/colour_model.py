"""Tiny attribute models built with the `onnx` helper, whose answers follow the crop's colours.

Gender logits are ReduceMean over the pixels, then MatMul: red-dominated crops score "male", blue ones
"female". Age is 10 + 80 x mean green, so a test can predict it exactly. Variants cover the conventions the
loaders must handle: logits or probabilities, 2-way or single sigmoid output, label order, fixed batch,
NHWC, dynamic spatial size, and a wrongly shaped output.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

GAIN = 10.0  # logit per unit of (mean red - mean blue) on 0..1 channels


def build_colour_model(
    path: Path,
    *,
    output: str = "logits",  # "logits" [N,2] | "probs" [N,2] after Softmax | "sigmoid" [N,1] logit
    male_first: bool = False,
    age: bool = True,
    batch: int | None = None,
    size: tuple[int, int] | None = (32, 32),
    nhwc: bool = False,
    gender_width: int | None = None,  # force a wrong width
) -> Path:
    n: int | str = batch if batch is not None else "N"
    h: int | str = size[0] if size is not None else "H"
    w: int | str = size[1] if size is not None else "W"
    dims = [n, h, w, 3] if nhwc else [n, 3, h, w]
    axes = [1, 2] if nhwc else [2, 3]
    male = np.array([GAIN, 0.0, -GAIN], np.float32)  # over (R, G, B)
    if output == "sigmoid":
        weights = male[:, None]
    else:
        columns = [male, -male] if male_first else [-male, male]
        weights = np.stack(columns, axis=1)
    if gender_width is not None:
        weights = np.tile(male[:, None], (1, gender_width))
    nodes = [
        helper.make_node("ReduceMean", ["crops"], ["means"], axes=axes, keepdims=0),
        helper.make_node("MatMul", ["means", "w_gender"], ["logits" if output == "probs" else "gender"]),
    ]
    initializers = [numpy_helper.from_array(weights.astype(np.float32), "w_gender")]
    if output == "probs":
        nodes.append(helper.make_node("Softmax", ["logits"], ["gender"], axis=1))
    outputs = [helper.make_tensor_value_info("gender", TensorProto.FLOAT, [n, weights.shape[1]])]
    if age:
        nodes += [
            helper.make_node("MatMul", ["means", "w_age"], ["age_raw"]),
            helper.make_node("Add", ["age_raw", "age_base"], ["age"]),
        ]
        initializers += [
            numpy_helper.from_array(np.array([[0.0], [80.0], [0.0]], np.float32), "w_age"),
            numpy_helper.from_array(np.array([10.0], np.float32), "age_base"),
        ]
        outputs.append(helper.make_tensor_value_info("age", TensorProto.FLOAT, [n, 1]))
    graph = helper.make_graph(
        nodes,
        "colour_attributes",
        [helper.make_tensor_value_info("crops", TensorProto.FLOAT, dims)],
        outputs,
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8  # old enough for every runtime in use here
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def person_crop(bgr: tuple[int, int, int], height: int = 120, width: int = 50) -> np.ndarray:
    """A uniformly coloured BGR crop."""
    crop = np.empty((height, width, 3), np.uint8)
    crop[:] = bgr
    return crop


RED = (40, 60, 220)  # BGR
BLUE = (220, 60, 40)

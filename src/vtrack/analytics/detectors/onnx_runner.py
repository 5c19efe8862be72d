"""The ONNX Runtime plumbing both YOLO families share: session, input geometry, letterboxed batches.

Sessions are tuned for live use on few cores: a fixed intra-op thread count, one inter-op thread, and
no spin-waiting, because spinning threads burn the CPU that the other channels' decoders and
detectors need between runs.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort  # type: ignore[import-untyped]

from vtrack.analytics.detectors.base import DetectorConfig, check_image
from vtrack.analytics.detectors.letterbox import Letterbox, Letterboxer
from vtrack.analytics.detectors.nms import nms
from vtrack.analytics.errors import AnalyticsError, ModelError
from vtrack.analytics.types import Detections, FloatArray, Image

log = logging.getLogger(__name__)

Dim = int | str | None  # ONNX Runtime reports a fixed dim as int, a symbolic one as str or None


def fixed(dim: Dim) -> int | None:
    """The dim's size when the model fixes it, else None."""
    return dim if isinstance(dim, int) and dim > 0 else None


def open_session(path: Path, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3  # warnings about unused initialisers etc. are noise to users
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own pybind exception types for every load failure
        raise ModelError(f"{path}: cannot load the ONNX model ({exc})") from exc


@dataclass(frozen=True)
class InputSpec:
    name: str
    batch: int | None  # None: dynamic, one run takes every image
    height: int
    width: int


def input_spec(session: ort.InferenceSession, path: Path, config: DetectorConfig) -> InputSpec:
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise ModelError(f"{path}: expected one image input, the model has {len(inputs)}")
    node = inputs[0]
    shape: list[Dim] = list(node.shape)
    if len(shape) != 4 or fixed(shape[1]) not in (3, None):
        raise ModelError(f"{path}: input {node.name!r} has shape {shape}, expected [batch, 3, height, width]")
    if node.type != "tensor(float)":
        raise ModelError(f"{path}: input {node.name!r} is {node.type}, only float32 inputs are supported")
    batch = fixed(shape[0])
    if batch not in (1, None):
        raise ModelError(f"{path}: fixed batch size {batch} is not supported; export with 1 or dynamic")
    height = fixed(shape[2]) or config.input_size[0]
    width = fixed(shape[3]) or config.input_size[1]
    return InputSpec(node.name, batch, height, width)


def output_shape(session: ort.InferenceSession, path: Path) -> list[Dim]:
    outputs = session.get_outputs()
    if not outputs:
        raise ModelError(f"{path}: the model has no outputs")
    shape: list[Dim] = list(outputs[0].shape)
    if len(shape) != 3:
        raise ModelError(f"{path}: output {outputs[0].name!r} has shape {shape}, expected 3 dims")
    return shape


class OnnxRunner:
    """Letterboxes images into a reused float32 NCHW blob and runs the session over them.

    `rgb_unit`: Ultralytics models want RGB in 0..1; YOLOX wants BGR 0..255 exactly as decoded.
    """

    def __init__(self, path: Path, config: DetectorConfig, centred: bool, rgb_unit: bool) -> None:
        self.path = path
        self.session = open_session(path, config.threads)
        self.spec = input_spec(self.session, path, config)
        self.rgb_unit = rgb_unit
        self.letterboxer = Letterboxer((self.spec.height, self.spec.width), centred)
        self._blob: FloatArray = np.zeros((1, 3, self.spec.height, self.spec.width), np.float32)
        log.info(
            "loaded %s: input %s %dx%d, batch %s, %d thread(s)",
            path,
            self.spec.name,
            self.spec.width,
            self.spec.height,
            self.spec.batch or "dynamic",
            config.threads,
        )

    def prepare(self, images: Sequence[Image]) -> tuple[FloatArray, list[Letterbox]]:
        """The input blob for `images` (a view of the reused buffer) and each image's geometry."""
        if len(self._blob) < len(images):
            self._blob = np.zeros((len(images), 3, self.spec.height, self.spec.width), np.float32)
        blob = self._blob[: len(images)]
        canvas = self.letterboxer.canvas
        boxes = []
        for i, image in enumerate(images):
            check_image(image)
            boxes.append(self.letterboxer(image))
            if self.rgb_unit:
                np.multiply(
                    canvas[:, :, ::-1].transpose(2, 0, 1), np.float32(1 / 255), out=blob[i], casting="unsafe"
                )
            else:
                np.copyto(blob[i], canvas.transpose(2, 0, 1))
        return blob, boxes

    def infer(self, blob: FloatArray) -> FloatArray:
        """Raw first output for the blob: one run if the batch is dynamic, else one run per image."""
        if self.spec.batch is None or len(blob) == 1:
            return self._run(blob)
        return np.concatenate([self._run(blob[i : i + 1]) for i in range(len(blob))])

    def _run(self, blob: FloatArray) -> FloatArray:
        if self.session is None:
            raise AnalyticsError(f"{self.path}: the detector has been closed")
        out = self.session.run(None, {self.spec.name: blob})[0]
        result = np.asarray(out, np.float32)
        if result.ndim != 3 or len(result) != len(blob):
            raise ModelError(f"{self.path}: output has shape {result.shape} for a batch of {len(blob)}")
        return result

    def close(self) -> None:
        """Drop the session; ONNX Runtime frees its memory when the last reference goes."""
        self.session = None


class OnnxDetector(ABC):
    """What the YOLOX and Ultralytics detectors share: prepare the batch, run it, decode each image."""

    name: str
    stateful: bool = False
    runner: OnnxRunner

    def detect(self, images: Sequence[Image]) -> list[Detections]:
        if not images:
            return []
        blob, boxes = self.runner.prepare(images)
        raw = self.runner.infer(blob)
        return [self.decode(raw[i], box) for i, box in enumerate(boxes)]

    @abstractmethod
    def decode(self, rows: FloatArray, box: Letterbox) -> Detections:
        """One image's raw output rows -> persons in original-frame pixels."""

    def close(self) -> None:
        self.runner.close()


def to_detections(xyxy: FloatArray, scores: FloatArray, box: Letterbox, nms_iou: float) -> Detections:
    """Input-space candidates -> suppressed, clipped original-frame persons; boxes left empty by the
    clip (entirely in the padding) are dropped."""
    if len(scores) == 0:
        return Detections.empty()
    keep = nms(xyxy, scores, nms_iou)
    boxes = box.to_original(xyxy[keep])
    scores = scores[keep]
    sized = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    return Detections.from_arrays(boxes[sized], scores[sized])

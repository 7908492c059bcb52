"""An exported student run by ONNX Runtime directly: numpy letterbox, decode and NMS.

No PyTorch and no Ultralytics are loaded, so a process that only runs the student
stays small, and ONNX Runtime's thread pool has the cores to itself.
"""

from __future__ import annotations

import ast
import os
import threading
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import numpy as np
import supervision as sv

from edgedistill.runtime.base import RuntimeLoadError, detections_in_frame
from edgedistill.runtime.decode import Boxes, decode_anchors, decode_end_to_end, is_end_to_end
from edgedistill.runtime.letterbox import InputBuffer, Placement

PROVIDERS = ("CUDAExecutionProvider", "CoreMLExecutionProvider", "CPUExecutionProvider")
"""Execution providers in order of preference; the first this ONNX Runtime build has wins."""


def cores() -> int:
    """The CPU cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class OnnxStudent:
    """An Ultralytics ONNX export (``[B, 4+nc, N]`` or ``[B, 300, 6]`` output) behind ``detect``.

    An export with a dynamic batch axis (``edgedistill export --dynamic``) also runs
    several frames in one ``infer`` call (``dynamic_batch``).
    """

    def __init__(self, path: Path, iou: float, threads: int | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or cores()
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Idle pool threads sleep instead of spinning: the HUD's decoder and encoder and the
        # server's request threads need the cycles a spinning thread burns.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 4  # failures become one sentence; ORT would print its own
        available = set(ort.get_available_providers())
        try:
            self.session = ort.InferenceSession(
                str(path), options, providers=[p for p in PROVIDERS if p in available]
            )
        except Exception as exc:  # ONNX Runtime raises its own kinds for a bad file
            raise RuntimeLoadError(
                f"{path}: not a model ONNX Runtime can load ({type(exc).__name__})"
            ) from None
        model_input = self.session.get_inputs()[0]
        self.input_name: str = model_input.name
        self.input_dtype = np.float16 if model_input.type == "tensor(float16)" else np.float32
        metadata = self.session.get_modelmeta().custom_metadata_map
        self.input_size = _input_size(model_input.shape, metadata, path)
        self.dynamic_batch = _dynamic_batch(model_input.shape[0], path)
        self.output_shape = tuple(self.session.get_outputs()[0].shape)
        self.names = _class_names(metadata, path)
        self.iou = iou
        self.path = path
        self._buffers = threading.local()  # one input tensor per thread that calls detect

    def preprocess(self, image: np.ndarray) -> tuple[np.ndarray, Placement]:
        """The input tensor for a BGR frame, and where the frame sits in it.

        The tensor is this thread's buffer, refilled by its next call: run it first.
        """
        buffer: InputBuffer | None = getattr(self._buffers, "input", None)
        if buffer is None:
            buffer = self._buffers.input = InputBuffer(self.input_size)
        placement = buffer.fill(image)
        return buffer.tensor.astype(self.input_dtype, copy=False), placement

    def infer(self, batch: np.ndarray) -> np.ndarray:
        """The model's raw outputs for a batch of input tensors, one row per frame."""
        (output,) = self.session.run(None, {self.input_name: batch})[:1]
        return np.asarray(output, dtype=np.float32)

    def reserve_batch(self, frames: int) -> None:
        """Run ``frames`` blank inputs at once: proves that the export really batches (a
        dynamic axis can hide a graph fixed to one frame), and has ONNX Runtime reserve the
        memory for that batch now rather than when frames first wait together."""
        blank = np.zeros((frames, 3, *self.input_size), dtype=self.input_dtype)
        try:
            self.infer(blank)
        except Exception as exc:  # ONNX Runtime raises its own kinds
            raise RuntimeLoadError(
                f"{self.path}: cannot run {frames} frames at once ({type(exc).__name__}); "
                "export it again with edgedistill export --dynamic, or use a batch of 1"
            ) from None

    def postprocess(self, output: np.ndarray, placement: Placement, conf: float) -> sv.Detections:
        boxes: Boxes
        if is_end_to_end(self.output_shape):
            boxes = decode_end_to_end(output, conf)
        else:
            boxes = decode_anchors(output, conf, self.iou)
        return detections_in_frame(boxes, placement)

    def detect(
        self,
        image: np.ndarray,
        conf: float,
        model_lock: AbstractContextManager[object] | None = None,
    ) -> sv.Detections:
        tensor, placement = self.preprocess(image)
        with model_lock or nullcontext():
            output = self.infer(tensor)[0]
        return self.postprocess(output, placement, conf)


def _input_size(shape: list[object], metadata: dict[str, str], path: Path) -> tuple[int, int]:
    """Height, width of the input: the graph's, or for a dynamic-size export the ``imgsz``
    Ultralytics exported it at: every frame is letterboxed to that whole size (Ultralytics'
    predictor would pad a dynamic export only to the smallest fitting rectangle)."""
    height, width = shape[2:4]
    if isinstance(height, int) and isinstance(width, int):
        return height, width
    try:
        height, width = ast.literal_eval(metadata["imgsz"])
        return int(height), int(width)
    except (KeyError, ValueError, SyntaxError, TypeError):
        raise RuntimeLoadError(
            f"{path}: the input size is dynamic and the metadata has no imgsz; export the "
            "student with Ultralytics (edgedistill export) so that it is written"
        ) from None


def _dynamic_batch(batch: object, path: Path) -> bool:
    """Whether the batch axis is dynamic; a fixed one must be 1, the frame ``detect`` runs."""
    if isinstance(batch, int) and batch != 1:
        raise RuntimeLoadError(
            f"{path}: exported for batches of exactly {batch} frames; export it with a batch "
            "of 1, or a dynamic batch for a server (edgedistill export --dynamic)"
        )
    return not isinstance(batch, int)


def _class_names(metadata: dict[str, str], path: Path) -> list[str]:
    """The class names Ultralytics writes into an export's metadata (a Python dict literal)."""
    try:
        names = ast.literal_eval(metadata["names"])
        return [str(names[i]) for i in range(len(names))]
    except (KeyError, ValueError, SyntaxError, TypeError):
        raise RuntimeLoadError(
            f"{path}: no class names in the model's metadata; export the student with "
            "Ultralytics (edgedistill export) so that they are written"
        ) from None

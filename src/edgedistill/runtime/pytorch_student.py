"""A ``.pt`` student through Ultralytics' predictor, behind the same ``detect`` as ONNX."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import numpy as np
import supervision as sv

from edgedistill.runtime.base import RuntimeLoadError
from edgedistill.student import PHONE_INPUT, ModelLoadError, load_yolo


class PyTorchStudent:
    """A checkpoint run by Ultralytics (PyTorch) at the phone's input size."""

    def __init__(self, path: Path, iou: float) -> None:
        try:
            self.model = load_yolo(path, task="detect")
        except ModelLoadError as exc:
            raise RuntimeLoadError(str(exc)) from None
        self.names: list[str] = [str(n) for n in self.model.names.values()]
        self.input_size = PHONE_INPUT
        self.iou = iou

    def detect(
        self,
        image: np.ndarray,
        conf: float,
        model_lock: AbstractContextManager[object] | None = None,
    ) -> sv.Detections:
        with model_lock or nullcontext():  # Ultralytics' pre/post-processing is inside predict
            result = self.model.predict(
                image,
                imgsz=self.input_size,
                conf=conf,
                iou=self.iou,
                verbose=False,
            )[0]
        return sv.Detections.from_ultralytics(result)

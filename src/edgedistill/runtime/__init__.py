"""The student at run time: one ``detect`` over ONNX Runtime (``.onnx``) and Ultralytics (``.pt``).

Every hot path (the HUD, the server, the speed figures, the app's golden vectors) runs
its student through :func:`open_runtime`. A new runtime is a class with ``names``,
``input_size`` and ``detect`` (:class:`StudentRuntime`), made from ``(path, iou)`` and
registered under its file suffix in :data:`RUNTIMES`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from edgedistill.app_model import NMS_IOU
from edgedistill.runtime.base import RuntimeLoadError, StudentRuntime
from edgedistill.runtime.onnx_student import OnnxStudent
from edgedistill.runtime.pytorch_student import PyTorchStudent

RUNTIMES: dict[str, Callable[[Path, float], StudentRuntime]] = {
    ".onnx": OnnxStudent,
    ".pt": PyTorchStudent,
}
"""The runtime for each student file suffix."""

__all__ = [
    "NMS_IOU",
    "OnnxStudent",
    "PyTorchStudent",
    "RuntimeLoadError",
    "StudentRuntime",
    "open_runtime",
]


def open_runtime(path: Path, iou: float = NMS_IOU) -> StudentRuntime:
    """The student in ``path`` ready to detect; one warm-up frame proves the file."""
    if not path.is_file():
        raise RuntimeLoadError(f"{path}: no such model file")
    if path.suffix not in RUNTIMES:
        raise RuntimeLoadError(f"{path}: expected a .pt or .onnx student")
    runtime = RUNTIMES[path.suffix](path, iou)
    try:
        runtime.detect(np.zeros((*runtime.input_size, 3), dtype=np.uint8), conf=0.25)
    except Exception as exc:  # a file that loads but cannot run
        raise RuntimeLoadError(f"{path}: the student cannot run ({type(exc).__name__})") from None
    return runtime

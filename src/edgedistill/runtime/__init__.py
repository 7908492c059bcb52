"""The student at run time: one ``detect`` over ONNX Runtime (``.onnx``) and Ultralytics (``.pt``).

Every hot path (the HUD, the server, the speed figures, the app's golden vectors) runs
its student through :func:`open_runtime` (or :func:`open_copies`, to run several frames
side by side). A new runtime is a class with ``names``, ``input_size`` and ``detect``
(:class:`StudentRuntime`), made from ``(path, iou)`` and registered under its file suffix
in :data:`RUNTIMES`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from edgedistill.app_model import NMS_IOU
from edgedistill.runtime.base import RuntimeLoadError, StudentRuntime
from edgedistill.runtime.onnx_student import OnnxStudent, cores
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
    "cores",
    "open_copies",
    "open_runtime",
]


def open_runtime(path: Path, iou: float = NMS_IOU) -> StudentRuntime:
    """The student in ``path`` ready to detect; one warm-up frame proves the file."""
    _check_file(path)
    return _proved(RUNTIMES[path.suffix](path, iou), path)


def open_copies(path: Path, copies: int, iou: float = NMS_IOU) -> list[StudentRuntime]:
    """``copies`` of an ONNX student to run side by side, each on its share of the cores:
    more frames per second in all, each frame slower. A ``.pt`` student is one copy
    (PyTorch's threads belong to the whole process)."""
    if copies <= 1 or path.suffix != ".onnx":
        return [open_runtime(path, iou)]
    _check_file(path)
    threads = max(1, cores() // copies)
    return [_proved(OnnxStudent(path, iou, threads), path) for _ in range(copies)]


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise RuntimeLoadError(f"{path}: no such model file")
    if path.suffix not in RUNTIMES:
        raise RuntimeLoadError(f"{path}: expected a .pt or .onnx student")


def _proved(runtime: StudentRuntime, path: Path) -> StudentRuntime:
    """``runtime`` after one warm-up frame: a file that loads but cannot run fails here."""
    try:
        runtime.detect(np.zeros((*runtime.input_size, 3), dtype=np.uint8), conf=0.25)
    except Exception as exc:
        raise RuntimeLoadError(f"{path}: the student cannot run ({type(exc).__name__})") from None
    return runtime

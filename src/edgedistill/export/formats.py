"""Export formats, registered by name: each turns the student into a file for a device.

A new format is one function decorated with ``@register_format``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgedistill.errors import EdgedistillError, UsageError


@dataclass(frozen=True)
class ExportOptions:
    imgsz: tuple[int, int]  # height, width
    conf: float
    iou: float
    int8: bool = False
    calibration: Path | None = None  # a data.yaml of the project's own frames
    dynamic: bool = False
    """ONNX only: dynamic batch (and input size) axes, for a server that batches frames."""


@dataclass(frozen=True)
class ExportFormat:
    name: str
    suffix: str
    runs_here: bool
    """Whether its runtime runs on this machine, so that parity can be checked."""
    requires: str | None
    note: str
    export: Callable[[Any, ExportOptions], Path]


FORMATS: dict[str, ExportFormat] = {}


def register_format(name: str, suffix: str, runs_here: bool, requires: str | None, note: str):
    def decorate(export: Callable[[Any, ExportOptions], Path]) -> Callable[..., Path]:
        FORMATS[name] = ExportFormat(name, suffix, runs_here, requires, note, export)
        return export

    return decorate


def get_format(name: str) -> ExportFormat:
    if name not in FORMATS:
        raise UsageError(f"unknown export format '{name}'; formats: {', '.join(FORMATS)}")
    fmt = FORMATS[name]
    if fmt.requires and importlib.util.find_spec(fmt.requires) is None:
        raise EdgedistillError(
            f"{name} export needs the '{fmt.requires}' package: pip install "
            f"'edgedistill[{name}]' (or {fmt.requires}) and run it again"
        )
    return fmt


@register_format(
    "onnx",
    ".onnx",
    runs_here=True,
    requires="onnx",
    note="raw output [1, 4+nc, N] ([B, 4+nc, N] with --dynamic): decode and NMS in the app "
    "(see below)",
)
def export_onnx(model: Any, options: ExportOptions) -> Path:
    path = Path(
        model.export(
            format="onnx",
            imgsz=options.imgsz,
            dynamic=options.dynamic,
            device="cpu",
            verbose=False,
        )
    )
    _add_onnx_metadata(path, {"conf": str(options.conf), "iou": str(options.iou)})
    return path


@register_format(
    "coreml",
    ".mlpackage",
    runs_here=False,
    requires="coremltools",
    note="NMS embedded; 8-bit palettised weights with fp16 compute (the phone default); "
    "runs on macOS/iOS only",
)
def export_coreml(model: Any, options: ExportOptions) -> Path:
    return _coreml(model, options, "w8a16")


@register_format(
    "coreml-fp16",
    ".mlpackage",
    runs_here=False,
    requires="coremltools",
    note="NMS embedded, fp16 weights and compute; runs on macOS/iOS only",
)
def export_coreml_fp16(model: Any, options: ExportOptions) -> Path:
    return _coreml(model, options, 16)


def _coreml(model: Any, options: ExportOptions, quantize: int | str) -> Path:
    """Ultralytics' CoreML export: ``w8a16`` is k-means palettised 8-bit weights, fp16 compute."""
    return Path(
        model.export(
            format="coreml",
            imgsz=options.imgsz,
            nms=True,
            quantize=quantize,
            conf=options.conf,
            iou=options.iou,
            device="cpu",
            verbose=False,
        )
    )


@register_format(
    "litert",
    ".tflite",
    runs_here=True,
    requires="litert_torch",
    note="converted without TensorFlow (litert-torch); int8 calibrated on the "
    "project's frames with --int8",
)
def export_litert(model: Any, options: ExportOptions) -> Path:
    extra = {"int8": True, "data": str(options.calibration)} if options.int8 else {}
    return Path(
        model.export(format="litert", imgsz=options.imgsz, device="cpu", verbose=False, **extra)
    )


@register_format(
    "executorch",
    ".pte",
    runs_here=False,
    requires="executorch",
    note="for the ExecuTorch runtime on iOS/Android",
)
def export_executorch(model: Any, options: ExportOptions) -> Path:
    return Path(model.export(format="executorch", imgsz=options.imgsz, device="cpu", verbose=False))


def _add_onnx_metadata(path: Path, values: dict[str, str]) -> None:
    import onnx

    proto = onnx.load(str(path))
    for key, value in values.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(path))

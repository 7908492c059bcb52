"""int8 that keeps its accuracy: ONNX Runtime static quantisation, shipped only when its
mAP on the held-out split stays within a tolerance of fp32.

The int8 model is calibrated on the project's own training frames, letterboxed exactly as
the phone sends them (QDQ format, per-channel int8 weights, uint8 activations). The
detection head stays in float: its last layers mix box coordinates (hundreds of pixels)
and class scores (0-1) in one tensor, which one int8 scale cannot hold. fp32, fp16
(ONNX Runtime's float16 converter, float inputs and outputs kept) and int8 are each scored
with pycocotools against the dataset's labels on held-out frames, and timed with ONNX
Runtime on this machine's CPU.
"""

from __future__ import annotations

import re
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from edgedistill.errors import EdgedistillError
from edgedistill.export.parity import camera_frame

DEFAULT_TOLERANCE = 0.02
"""Largest mAP50-95 drop from fp32 that an int8 model may show and still ship."""
CALIBRATION_FRAMES = 200
SCORED_FRAMES = 300
_HEAD = re.compile(r"^/model\.(\d+)/")
T = TypeVar("T")


@dataclass(frozen=True)
class Scored:
    """One precision of the student: its file, accuracy on held-out frames and speed."""

    precision: str
    file: Path
    mb: float
    map50: float
    map50_95: float
    ms: float
    """Median ONNX Runtime inference time on this machine's CPU, pre/post-processing apart."""


@dataclass(frozen=True)
class Int8Verdict:
    """fp32, fp16 and int8 side by side, and whether int8 ships."""

    scored: list[Scored]
    images: int
    calibration_frames: int
    tolerance: float

    def get(self, precision: str) -> Scored:
        return next(s for s in self.scored if s.precision == precision)

    @property
    def drop(self) -> float:
        return self.get("fp32").map50_95 - self.get("int8").map50_95

    @property
    def shipped(self) -> bool:
        return self.drop <= self.tolerance

    def line(self) -> str:
        figures = "; ".join(
            f"{s.precision} mAP50 {s.map50:.3f} mAP50-95 {s.map50_95:.3f} {s.ms:.1f} ms {s.mb} MB"
            for s in self.scored
        )
        verdict = (
            f"int8 ships (mAP50-95 drop {self.drop:.3f} <= {self.tolerance})"
            if self.shipped
            else f"int8 REFUSED: mAP50-95 drops {self.drop:.3f} > {self.tolerance} from fp32"
        )
        return (
            f"precision on {self.images} held-out frames ({self.calibration_frames} calibration "
            f"frames): {figures} — {verdict}"
        )


class _FrameReader:
    """Feeds calibration frames to ONNX Runtime's calibrator, one at a time."""

    def __init__(self, frames: Sequence[Path], imgsz: tuple[int, int], input_name: str) -> None:
        self._frames: Iterator[Path] = iter(frames)
        self._imgsz = imgsz
        self._input = input_name

    def get_next(self) -> dict[str, np.ndarray] | None:
        frame = next(self._frames, None)
        return None if frame is None else {self._input: model_input(frame, self._imgsz)}


def model_input(frame: Path, imgsz: tuple[int, int]) -> np.ndarray:
    """The frame as the exported model takes it: letterboxed RGB, 0-1, ``[1, 3, H, W]``."""
    image = camera_frame(frame, imgsz)[..., ::-1]
    return np.ascontiguousarray(image.transpose(2, 0, 1)[None], dtype=np.float32) / 255.0


def head_nodes(model: Any) -> list[str]:
    """Names of the detection head's nodes other than its convolutions (kept in float)."""
    indices = [int(m.group(1)) for n in model.graph.node if (m := _HEAD.match(n.name))]
    if not indices:
        return []
    head = f"/model.{max(indices)}/"
    return [n.name for n in model.graph.node if n.name.startswith(head) and n.op_type != "Conv"]


def quantize_int8(fp32: Path, target: Path, frames: Sequence[Path], imgsz: tuple[int, int]) -> Path:
    """Static int8 (QDQ, per-channel) of ``fp32``, calibrated on ``frames``."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if not frames:
        raise EdgedistillError("int8 needs calibration frames; the dataset has no train images")
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)
        model = onnx.load(str(prepared))
        quantize_static(
            str(prepared),
            str(target),
            _FrameReader(frames, imgsz, model.graph.input[0].name),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            weight_type=QuantType.QInt8,
            activation_type=QuantType.QUInt8,
            calibrate_method=CalibrationMethod.MinMax,
            nodes_to_exclude=head_nodes(model),
        )
    return target


def to_fp16(fp32: Path, target: Path) -> Path:
    """fp16 weights and compute, float32 inputs and outputs kept for the caller."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    onnx.save(convert_float_to_float16(onnx.load(str(fp32)), keep_io_types=True), str(target))
    return target


def held_out_map(
    model_file: Path, images: Sequence[tuple[Path, Path]], names: list[str], imgsz: tuple[int, int]
) -> tuple[float, float]:
    """COCO mAP50 and mAP50-95 of an exported model on ``(image, YOLO label file)`` pairs."""
    import supervision as sv

    from edgedistill.coco_eval import coco_map
    from edgedistill.media.images import read_image
    from edgedistill.student import load_yolo
    from edgedistill.yolo_format import read_labels

    model = load_yolo(model_file, task="detect")
    sizes, truths, predictions = [], [], []
    for image, label in images:
        height, width = read_image(image).shape[:2]
        result = model.predict(
            str(image), imgsz=imgsz, conf=0.001, iou=0.7, device="cpu", verbose=False
        )[0]
        sizes.append((width, height))
        truths.append(read_labels(label, width, height))
        predictions.append(sv.Detections.from_ultralytics(result))
    figures = coco_map(sizes, truths, predictions, names)
    return figures["map50"], figures["map50_95"]


def onnx_ms(model_file: Path, frame: Path, imgsz: tuple[int, int], runs: int = 20) -> float:
    """Median ONNX Runtime CPU inference time of one frame, after three warm-up runs."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(model_file), providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: model_input(frame, imgsz)}
    times = []
    for index in range(runs + 3):
        start = time.perf_counter()
        session.run(None, feed)
        if index >= 3:
            times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 2)


def compare_precisions(
    fp32: Path,
    calibration: Sequence[Path],
    held_out: Sequence[tuple[Path, Path]],
    names: list[str],
    imgsz: tuple[int, int],
    tolerance: float = DEFAULT_TOLERANCE,
) -> Int8Verdict:
    """Write ``<stem>-fp16.onnx`` and ``<stem>-int8.onnx`` beside ``fp32`` and score all three.

    The int8 file is removed again when it misses ``tolerance``: it never lies there to be
    shipped by mistake.
    """
    if not held_out:
        raise EdgedistillError("no held-out frames with labels to score the int8 model on")
    files = {
        "fp32": fp32,
        "fp16": to_fp16(fp32, fp32.with_name(f"{fp32.stem}-fp16.onnx")),
        "int8": quantize_int8(fp32, fp32.with_name(f"{fp32.stem}-int8.onnx"), calibration, imgsz),
    }
    scored = []
    for precision, file in files.items():
        map50, map50_95 = held_out_map(file, held_out, names, imgsz)
        scored.append(
            Scored(
                precision,
                file,
                round(file.stat().st_size / 1e6, 2),
                map50,
                map50_95,
                onnx_ms(file, held_out[0][0], imgsz),
            )
        )
    verdict = Int8Verdict(scored, len(held_out), len(calibration), tolerance)
    if not verdict.shipped:
        files["int8"].unlink()
    return verdict


def spread(items: Sequence[T], count: int) -> list[T]:
    """Up to ``count`` items evenly spread over ``items`` (calibration should see them all)."""
    if len(items) <= count:
        return list(items)
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]

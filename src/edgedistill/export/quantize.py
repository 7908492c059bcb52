"""int8 that keeps its accuracy: ONNX Runtime static quantisation, shipped only when its
mAP stays within a tolerance of fp32.

The int8 model is calibrated on the project's own training frames, letterboxed exactly as
the phone sends them (QDQ format, per-channel int8 weights, uint8 activations). The
detection head stays in float: its last layers mix box coordinates (hundreds of pixels)
and class scores (0-1) in one tensor, which one int8 scale cannot hold. fp32, fp16
(ONNX Runtime's float16 converter, float inputs and outputs kept) and int8 are each scored
on one :class:`ScoringSet` (human labels, or the dataset's labels on its held-out frames;
see :mod:`edgedistill.export.scoring`) by ``eval``'s protocol (:mod:`edgedistill.yardstick`:
score floor, classes merged by name, class-aware NMS after the merge, COCOeval), overall
and per class, and timed with ONNX Runtime on this machine's CPU.
"""

from __future__ import annotations

import re
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from edgedistill.detections import class_ids
from edgedistill.errors import EdgedistillError
from edgedistill.export.parity import camera_frame
from edgedistill.yardstick import Truth, TruthImage, class_scores, mean_ap, predict_ultralytics
from edgedistill.yolo_format import read_labels

DEFAULT_TOLERANCE = 0.02
"""Largest mAP50-95 drop from fp32 that an int8 model may show and still ship."""
CALIBRATION_FRAMES = 200
SCORED_FRAMES = 300
_HEAD = re.compile(r"^/model\.(\d+)/")
T = TypeVar("T")


@dataclass(frozen=True)
class ScoringSet:
    """The labelled images fp32, fp16 and int8 are scored on, and what they are. One that
    could score nothing (no labelled object of a class the model can name) is refused
    before any file is written: all three precisions would score 0 and int8 "ship"."""

    description: str
    """What the images and labels are, for the verdict line: ``6 held-out test frames …``."""
    truth: Truth
    mapping: dict[int, int]
    """Model class id → index in ``truth.names`` (by name through the ontology, as
    :func:`edgedistill.yardstick.class_map` matches them); a class mapping onto none is
    not scored."""

    def __post_init__(self) -> None:
        labelled = {int(c) for image in self.truth.images for c in class_ids(image.boxes)}
        if not labelled & set(self.mapping.values()):
            raise EdgedistillError(
                f"int8 cannot be scored on {self.description}: no labelled object there is "
                "of a class the model has, so fp32, fp16 and int8 would all score 0"
            )


def label_files(
    pairs: Sequence[tuple[Path, Path]], names: list[str], description: str
) -> ScoringSet:
    """A scoring set of ``(image, YOLO label file)`` pairs labelled in the model's own
    classes (label class i is the model's class i)."""
    from PIL import Image

    images = []
    for image, label in pairs:
        with Image.open(image) as opened:
            width, height = opened.size
        images.append(TruthImage(image, width, height, read_labels(label, width, height)))
    return ScoringSet(description, Truth(names, images), {i: i for i in range(len(names))})


@dataclass(frozen=True)
class Scored:
    """One precision of the student: its file, accuracy on the scoring set and speed."""

    precision: str
    file: Path
    mb: float
    map50: float
    map50_95: float
    ms: float
    """Median ONNX Runtime inference time on this machine's CPU, pre/post-processing apart."""
    ap50: dict[str, float] = field(default_factory=dict)
    """AP50 per scored class with reference boxes."""


@dataclass(frozen=True)
class Int8Verdict:
    """fp32, fp16 and int8 side by side, and whether int8 ships."""

    scored: list[Scored]
    scored_on: str
    """The scoring set's description."""
    calibration_frames: int
    tolerance: float

    def get(self, precision: str) -> Scored:
        return next(s for s in self.scored if s.precision == precision)

    @property
    def drop(self) -> float:
        """mAP50-95 lost from fp32 to int8: what decides."""
        return self.get("fp32").map50_95 - self.get("int8").map50_95

    @property
    def drop50(self) -> float:
        return self.get("fp32").map50 - self.get("int8").map50

    @property
    def shipped(self) -> bool:
        return self.drop <= self.tolerance

    def class_drops(self) -> dict[str, float]:
        """AP50 lost from fp32 to int8 per class, the largest loss first."""
        fp32, int8 = self.get("fp32").ap50, self.get("int8").ap50
        drops = {name: fp32[name] - int8.get(name, 0.0) for name in fp32}
        return dict(sorted(drops.items(), key=lambda item: -item[1]))

    def line(self) -> str:
        figures = "; ".join(
            f"{s.precision} mAP50 {s.map50:.3f} mAP50-95 {s.map50_95:.3f} {s.ms:.1f} ms {s.mb} MB"
            for s in self.scored
        )
        verdict = (
            f"int8 ships (mAP50-95 drop {self.drop:.3f} <= {self.tolerance}"
            if self.shipped
            else f"int8 REFUSED (mAP50-95 drop {self.drop:.3f} > {self.tolerance}"
        ) + f", mAP50 drop {self.drop50:.3f})"
        fp32, int8 = self.get("fp32").ap50, self.get("int8").ap50
        classes = ", ".join(
            f"{name} {fp32[name]:.3f} -> {int8.get(name, 0.0):.3f}" for name in self.class_drops()
        )
        return (
            f"precision on {self.scored_on}, int8 calibrated on {self.calibration_frames} "
            f"training frames: "
            f"{figures} — {verdict}; AP50 per class, fp32 -> int8: "
            f"{classes or 'no class has reference boxes'}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "scored_on": self.scored_on,
            "calibration_frames": self.calibration_frames,
            "tolerance": self.tolerance,
            "shipped": self.shipped,
            "map50_95_drop": round(self.drop, 4),
            "map50_drop": round(self.drop50, 4),
            "ap50_drop_per_class": {n: round(d, 4) for n, d in self.class_drops().items()},
            "precisions": [{**asdict(s), "file": s.file.name} for s in self.scored],
            "line": self.line(),
        }


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


def accuracy(
    model_file: Path, scoring: ScoringSet, imgsz: tuple[int, int]
) -> tuple[float, float, dict[str, float]]:
    """mAP50, mAP50-95 and AP50 per class of an exported model on a scoring set, by the
    yardstick's protocol; the means are over the classes with reference boxes that the
    model can name."""
    from edgedistill.student import load_yolo

    model = load_yolo(model_file, task="detect")
    paths = [image.path for image in scoring.truth.images]
    found = predict_ultralytics(model, paths, imgsz, "cpu", batch=1)
    per_class = class_scores(scoring.truth, scoring.mapping, found)
    map50, map50_95 = mean_ap(per_class)
    return map50, map50_95, {n: c.ap50 for n, c in per_class.items() if c is not None}


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
    scoring: ScoringSet,
    imgsz: tuple[int, int],
    tolerance: float = DEFAULT_TOLERANCE,
) -> Int8Verdict:
    """Write ``<stem>-fp16.onnx`` and ``<stem>-int8.onnx`` beside ``fp32`` and score all three.

    The int8 file is removed again when it misses ``tolerance``: it never lies there to be
    shipped by mistake.
    """
    files = {
        "fp32": fp32,
        "fp16": to_fp16(fp32, fp32.with_name(f"{fp32.stem}-fp16.onnx")),
        "int8": quantize_int8(fp32, fp32.with_name(f"{fp32.stem}-int8.onnx"), calibration, imgsz),
    }
    scored = []
    for precision, file in files.items():
        map50, map50_95, ap50 = accuracy(file, scoring, imgsz)
        scored.append(
            Scored(
                precision,
                file,
                round(file.stat().st_size / 1e6, 2),
                map50,
                map50_95,
                onnx_ms(file, scoring.truth.images[0].path, imgsz),
                ap50,
            )
        )
    verdict = Int8Verdict(scored, scoring.description, len(calibration), tolerance)
    if not verdict.shipped:
        files["int8"].unlink()
    return verdict


def spread(items: Sequence[T], count: int) -> list[T]:
    """Up to ``count`` items evenly spread over ``items`` (calibration should see them all)."""
    if len(items) <= count:
        return list(items)
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]

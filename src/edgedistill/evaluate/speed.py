"""Student speed on this machine at 480p: PyTorch and ONNX Runtime, end to end."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edgedistill.logs import ultralytics_silenced
from edgedistill.metrics import Speed, Timing
from edgedistill.project import DatasetRecord
from edgedistill.runtime import NMS_IOU, OnnxStudent
from edgedistill.student import PHONE_INPUT


def measure_speed(
    model: Any, weights: Path, record: DatasetRecord, device: str, runs: int, directory: Path
) -> Speed:
    """ms/frame at 480p on this machine, pre/post-processing included: PyTorch through
    Ultralytics, and the ONNX export through the student runtime that ``run`` and ``serve`` use."""
    frame = _speed_frame(record)
    pytorch = _time(model, frame, device, runs)
    input_size = f"{PHONE_INPUT[1]}x{PHONE_INPUT[0]}"
    try:
        with ultralytics_silenced():  # it prints a path we are about to move
            onnx_path = Path(
                model.export(format="onnx", imgsz=PHONE_INPUT, device="cpu", verbose=False)
            )
    except Exception as exc:  # exporter dependencies missing or the export failed
        failed = Timing(error=f"{type(exc).__name__}: {exc}".splitlines()[0])
        return Speed(
            input=input_size, device=device, runs=runs, pytorch=pytorch, onnxruntime=failed
        )
    onnx = _time_runtime(OnnxStudent(onnx_path, NMS_IOU), frame, runs)
    target = directory / onnx_path.name
    size_mb = round(onnx_path.stat().st_size / 1e6, 2)
    if onnx_path != target:
        onnx_path.replace(target)
    # The file is named relative to the report folder, so that the folder can move.
    onnx = onnx.model_copy(update={"file": target.name, "file_mb": size_mb})
    return Speed(input=input_size, device=device, runs=runs, pytorch=pytorch, onnxruntime=onnx)


def _speed_frame(record: DatasetRecord) -> np.ndarray:
    images = sorted((record.root / "images").rglob("*.jpg"))
    image = cv2.imread(str(images[0])) if images else None
    if image is None:
        image = np.zeros((*PHONE_INPUT, 3), np.uint8)
    return cv2.resize(image, PHONE_INPUT[::-1], interpolation=cv2.INTER_AREA)


def _time(model: Any, frame: np.ndarray, device: str, runs: int) -> Timing:
    for _ in range(3):
        model.predict(frame, imgsz=PHONE_INPUT, device=device, verbose=False)
    stages: dict[str, list[float]] = {"preprocess": [], "inference": [], "postprocess": []}
    start = time.perf_counter()
    for _ in range(runs):
        result = model.predict(frame, imgsz=PHONE_INPUT, device=device, verbose=False)[0]
        for stage in stages:
            stages[stage].append(result.speed[stage])
    return _timing(stages, (time.perf_counter() - start) * 1000 / runs)


def _timing(stages: dict[str, list[float]], total_ms: float) -> Timing:
    median = {stage: round(float(np.median(v)), 2) for stage, v in stages.items()}
    return Timing(
        preprocess_ms=median["preprocess"],
        inference_ms=median["inference"],
        postprocess_ms=median["postprocess"],
        total_ms=round(total_ms, 2),
        fps=round(1000 / total_ms, 1),
    )


def _time_runtime(student: OnnxStudent, frame: np.ndarray, runs: int) -> Timing:
    for _ in range(3):
        student.detect(frame, conf=0.25)
    stages: dict[str, list[float]] = {"preprocess": [], "inference": [], "postprocess": []}
    start = time.perf_counter()
    for _ in range(runs):
        began = time.perf_counter()
        tensor, placement = student.preprocess(frame)
        prepared = time.perf_counter()
        output = student.infer(tensor)[0]
        inferred = time.perf_counter()
        student.postprocess(output, placement, conf=0.25)
        done = time.perf_counter()
        stages["preprocess"].append((prepared - began) * 1000)
        stages["inference"].append((inferred - prepared) * 1000)
        stages["postprocess"].append((done - inferred) * 1000)
    return _timing(stages, (time.perf_counter() - start) * 1000 / runs)

"""The student at run time: the phone's input size, one way to load a YOLO model, its device.

Every stage that runs a student (train, eval, export, the HUD, the server) loads it here.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from edgedistill.devices import resolve_device
from edgedistill.errors import EdgedistillError
from edgedistill.weights import WEIGHTS_DIR_VARIABLE, is_architecture, resolve_weights

log = logging.getLogger(__name__)

PHONE_INPUT = (480, 640)
"""Height, width of the model input on the phone: a landscape 480p camera frame."""

MODEL_SUFFIXES = (".pt", ".onnx")

PRETRAINED_HINT = (
    f"pretrained weights train far better: put yolo11n.pt in a folder named by "
    f"{WEIGHTS_DIR_VARIABLE}, run once with internet so that Ultralytics downloads it, or "
    "download it from github.com/ultralytics/assets/releases and pass its path"
)


class ModelLoadError(EdgedistillError):
    """A model file that Ultralytics cannot load."""


def load_yolo(source: str | Path, task: str | None = None) -> Any:
    """An Ultralytics model from a checkpoint, an exported file or a YAML; one sentence
    (:class:`ModelLoadError`) when it cannot be loaded."""
    from ultralytics import YOLO

    try:
        return YOLO(str(source), task=task)
    except Exception as exc:  # Ultralytics raises many kinds for a bad or missing file
        raise ModelLoadError(
            f"{source}: not a model Ultralytics can load ({type(exc).__name__})"
        ) from None


def load_student(model: str, search: Sequence[Path | None] = ()) -> Any:
    """The student to train or score: weights found by the weights rule (``search`` adding
    folders), or a YAML built with random weights (with a warning)."""
    if is_architecture(model):
        log.warning("building %s with random weights; %s", model, PRETRAINED_HINT)
    try:
        return load_yolo(resolve_weights(model, search))
    except ModelLoadError as exc:
        raise ModelLoadError(
            f"cannot load the student '{model}' ({str(exc).rsplit('(', 1)[-1]}; without "
            f"internet use a local .pt or a model YAML such as yolo11n.yaml; {PRETRAINED_HINT}"
        ) from None


def open_detector(path: Path) -> Any:
    """A trained ``.pt`` or ``.onnx`` student ready to detect at :data:`PHONE_INPUT`.

    ONNX files load lazily: one warm-up frame proves the file and warms the runtime.
    """
    if not path.is_file():
        raise EdgedistillError(f"{path}: no such model file")
    if path.suffix not in MODEL_SUFFIXES:
        raise EdgedistillError(f"{path}: expected a .pt or .onnx student")
    import numpy as np

    model = load_yolo(path, task="detect")
    try:
        model.predict(np.zeros((*PHONE_INPUT, 3), dtype=np.uint8), imgsz=PHONE_INPUT, verbose=False)
    except Exception as exc:  # a file that loads but cannot run
        raise ModelLoadError(
            f"{path}: not a model Ultralytics can load ({type(exc).__name__})"
        ) from None
    return model


def pick_device(device: str) -> str:
    """``auto``: the first CUDA GPU, else the CPU (with a loud warning)."""
    resolved = resolve_device(device)
    if device == "auto" and resolved == "cpu":
        log.warning(
            "no CUDA GPU: training on the CPU is slow (minutes per epoch for real datasets); "
            "use a GPU machine for real training"
        )
    return resolved


def provenance_caveats(teacher_caveat: str | None, student_model: str | None) -> list[str]:
    """What a reader of a report or model card must know first: a teacher that only
    stands in for SAM3 (its caveat), and a student trained from random weights."""
    caveats = []
    if teacher_caveat:
        caveats.append(f"Teacher: {teacher_caveat}.")
    if student_model is not None and is_architecture(student_model):
        caveats.append(
            f"Student: trained from random weights ({student_model}), so it has learnt little; "
            f"{PRETRAINED_HINT}."
        )
    return caveats

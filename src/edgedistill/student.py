"""The student for training and export: the phone's input size, one way to load a YOLO model
through Ultralytics, its device. Running a student on frames is :mod:`edgedistill.runtime`.
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

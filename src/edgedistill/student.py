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


def load_yolo(source: str | Path, task: str | None = None, shown: str | Path | None = None) -> Any:
    """An Ultralytics model from a checkpoint, an exported file or a YAML; one sentence
    (:class:`ModelLoadError`, naming ``shown``, else ``source``) when it cannot be loaded.

    Ultralytics takes any file name and fails only when the model is first used, so a
    file that is not a checkpoint, a YAML or an export it runs is refused here.
    """
    from ultralytics import YOLO

    name = shown or source
    path = Path(source)
    if path.exists() and not path.name.lower().endswith(_model_suffixes()):
        raise ModelLoadError(
            f"{name}: not a model file; expected a .pt checkpoint, a model YAML or an "
            "exported model (.onnx, .mlpackage, .tflite …)"
        )
    try:
        return YOLO(str(source), task=task)
    except Exception as exc:  # Ultralytics raises many kinds for a bad or missing file
        why = "damaged, cut short, or not a model at all" if path.exists() else type(exc).__name__
        raise ModelLoadError(f"{name}: not a model Ultralytics can load ({why})") from None


def _model_suffixes() -> tuple[str, ...]:
    """How the names of the files (and folders) Ultralytics loads end."""
    from ultralytics.engine.exporter import export_formats

    exported = [suffix for suffix in export_formats()["Suffix"] if suffix != "-"]
    return (".pt", ".yaml", ".yml", ".mlmodel", *exported)


def load_weights(path: str | Path, task: str | None = None, shown: str | Path | None = None) -> Any:
    """A student's PyTorch weights, which training, scoring and export start from; an
    exported model or any other file is refused in one sentence."""
    if Path(path).exists() and Path(path).suffix.lower() != ".pt":
        raise ModelLoadError(
            f"{shown or path}: not PyTorch weights; training, evaluation and export start "
            "from the student's .pt file, not from an export or any other file"
        )
    return load_yolo(path, task, shown)


def load_student(model: str, search: Sequence[Path | None] = ()) -> Any:
    """The student to train or score: weights found by the weights rule (``search`` adding
    folders), or a YAML built with random weights (with a warning)."""
    if not is_architecture(model):
        return load_weights(resolve_weights(model, search), shown=model)
    log.warning("building %s with random weights; %s", model, PRETRAINED_HINT)
    try:
        return load_yolo(model)
    except ModelLoadError as exc:
        raise ModelLoadError(
            f"cannot load the student '{model}' ({str(exc).rsplit('(', 1)[-1]}; without "
            f"internet use a local .pt or a model YAML such as yolo11n.yaml; {PRETRAINED_HINT}"
        ) from None


def pick_device(device: str) -> str:
    """The device to train on; ``auto``: the first CUDA GPU, else the CPU (with a loud
    warning, which belongs to training only: scoring on the CPU is fine)."""
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

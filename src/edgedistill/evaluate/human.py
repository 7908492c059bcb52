"""Human labels for ``eval --gt``: checked before anything runs, read into the ontology's
classes by name (see :mod:`edgedistill.evaluate.yardstick`, which scores every model on them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

import yaml

from edgedistill.errors import EdgedistillError
from edgedistill.evaluate.yardstick import Truth, truth_from_labels
from edgedistill.ontology import Ontology
from edgedistill.teachers.annotations import AnnotationSet, load_annotations
from edgedistill.teachers.base import FrameInput


@dataclass(frozen=True)
class HumanLabels:
    """Ground truth checked before any model runs: its file, labels and images."""

    path: Path
    annotations: AnnotationSet
    images: list[tuple[Path, Any]]


def check_ground_truth(gt: Path) -> HumanLabels:
    """Load ``--gt`` and find its held-out images; one sentence when it cannot be used."""
    gt = gt.expanduser().resolve()
    if not gt.exists():
        raise EdgedistillError(f"{gt}: no such ground-truth file or folder")
    annotations = load_annotations(gt)
    images = _held_out_images(gt, annotations)
    if not images:
        raise EdgedistillError(f"{gt}: no images found for its labels")
    return HumanLabels(gt, annotations, images)


def human_truth(ontology: Ontology, human: HumanLabels) -> Truth:
    """The human labels in the ontology's classes, matched by name, prompt or rename."""
    rows = []
    for index, (path, entry) in enumerate(human.images):
        frame = _frame(f"gt{index:06d}", path)
        labels = [(d.label, d.box) for d in human.annotations.read(entry, frame)]
        rows.append((path, frame.width, frame.height, labels))
    return truth_from_labels(ontology, rows)


def _held_out_images(gt: Path, annotations: AnnotationSet) -> list[tuple[Path, Any]]:
    """The images to score on: a data.yaml's test (else val) split; everything otherwise."""
    items = annotations.images()
    if gt.suffix.lower() in (".yaml", ".yml"):
        data = yaml.safe_load(gt.read_text()) or {}
        root = gt.parent / data.get("path", ".")
        for key in ("test", "val"):
            if isinstance(data.get(key), str):
                folder = (root / data[key]).resolve()
                return [(Path(p), e) for p, e in items if Path(p).is_relative_to(folder)]
        return [(Path(p), e) for p, e in items]
    if gt.suffix.lower() == ".json":
        found = []
        for path, entry in items:
            image = _coco_image(gt.parent, path)
            if image is not None:
                found.append((image, entry))
        return found
    return [(Path(p), e) for p, e in items]


def _coco_image(root: Path, name: PurePath) -> Path | None:
    for candidate in (root / name, root / "images" / name, root / "images" / name.name):
        if candidate.is_file():
            return candidate
    return None


def _frame(frame_id: str, path: Path) -> FrameInput:
    from PIL import Image

    with Image.open(path) as image:
        width, height = image.size
    return FrameInput(frame_id, path, width, height, str(path), ())

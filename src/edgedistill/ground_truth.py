"""Human labels as ground truth (``eval --gt``, ``eval.gt``; ``export --int8`` scores on them
too): checked before any model runs, with the images of their test (else val) split, and
read into the ontology's classes for :mod:`edgedistill.yardstick`. Any format the
``annotations`` teacher reads (a YOLO data.yaml or labels folder, a COCO JSON) will do."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

import yaml

from edgedistill.errors import EdgedistillError
from edgedistill.ontology import Ontology
from edgedistill.teachers.annotations import AnnotationSet, load_annotations
from edgedistill.teachers.base import FrameInput
from edgedistill.yardstick import Labelled, Truth, truth_from_labels


@dataclass(frozen=True)
class HumanLabels:
    """Ground truth checked before any model runs: its file, labels and images."""

    path: Path
    annotations: AnnotationSet
    images: list[tuple[Path, Any]]

    def labelled(self) -> list[Labelled]:
        """Each image with its size and its ``(label, xyxy)`` boxes, as labelled."""
        rows: list[Labelled] = []
        for index, (path, entry) in enumerate(self.images):
            frame = _frame(f"gt{index:06d}", path)
            labels = [(d.label, tuple(d.box)) for d in self.annotations.read(entry, frame)]
            rows.append((path, frame.width, frame.height, labels))
        return rows

    def truth(self, ontology: Ontology) -> Truth:
        """The labels in the ontology's classes, matched by name, prompt or rename."""
        return truth_from_labels(ontology, self.labelled())


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

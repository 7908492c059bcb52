"""One yardstick for every model: the student, its starting weights and the teacher,
scored on the same labelled images with classes matched by name through the ontology.

A model's class names (``motorbike``, ``police car``, a COCO model's 80 names) and the
ground truth's names are both read through :meth:`Ontology.match` (class names, prompts
and renames). A prediction of a class the ground truth does not label is scored as its
nearest ancestor that it does label (``police car`` counts as ``car`` against labels that
only know cars). Names that map to nothing are listed, never scored as zero or dropped in
silence, and a class a model has no name for is shown as such, not as AP 0.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import supervision as sv

from edgedistill.coco_eval import ClassScore, coco_per_class
from edgedistill.detections import class_ids, confidences, subset
from edgedistill.ontology import Ontology

PREDICT_CONF = 0.001
"""Score floor of predictions scored for AP (Ultralytics' validator uses the same)."""


@dataclass(frozen=True)
class TruthImage:
    """One scored image: its file, size, and boxes whose class ids index ``Truth.names``."""

    path: Path
    width: int
    height: int
    boxes: sv.Detections


@dataclass
class Truth:
    """Labelled images in the scored classes, and the labels no class of the ontology takes."""

    names: list[str]
    images: list[TruthImage]
    unmatched: dict[str, int] = field(default_factory=dict)
    """Ground-truth class names the ontology does not know, with their box counts."""


@dataclass
class ModelScore:
    """A model on the yardstick: per-class figures, and what could not be compared."""

    role: str
    """``student``, ``starting weights`` or ``teacher``."""
    model: str
    images: int
    per_class: dict[str, ClassScore | None]
    """None: the model has no class that maps onto this one."""
    ignored_classes: list[str] = field(default_factory=list)
    """The model's class names that map onto no scored class."""

    @property
    def comparable(self) -> list[str]:
        return [name for name, score in self.per_class.items() if score is not None]

    @property
    def map50(self) -> float:
        """Mean AP50 over the classes this model can name."""
        scores = [s.ap50 for s in self.per_class.values() if s is not None]
        return round(float(np.mean(scores)), 4) if scores else 0.0

    @property
    def map50_95(self) -> float:
        scores = [s.ap50_95 for s in self.per_class.values() if s is not None]
        return round(float(np.mean(scores)), 4) if scores else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "model": self.model,
            "images": self.images,
            "map50": self.map50,
            "map50_95": self.map50_95,
            "classes_scored": len(self.comparable),
            "per_class": {
                name: None if s is None else vars(s) for name, s in self.per_class.items()
            },
            "ignored_classes": self.ignored_classes,
        }


def truth_from_labels(
    ontology: Ontology,
    images: Iterable[tuple[Path, int, int, Sequence[tuple[str, tuple[float, ...]]]]],
) -> Truth:
    """Ground truth from ``(path, width, height, [(label, xyxy), …])``, names matched
    through the ontology; unmatched labels counted, classes without boxes left out."""
    unmatched: Counter[str] = Counter()
    rows: list[tuple[Path, int, int, list[tuple[str, tuple[float, ...]]]]] = []
    present: set[str] = set()
    for path, width, height, labels in images:
        kept = []
        for label, box in labels:
            cls = ontology.match(label)
            if cls is None:
                unmatched[label] += 1
                continue
            name = ontology.output_name(cls.name)
            present.add(name)
            kept.append((name, box))
        rows.append((path, width, height, kept))
    names = [n for n in ontology.student_names if n in present]
    truth_images = [
        TruthImage(path, width, height, _detections([(names.index(n), b, 1.0) for n, b in kept]))
        for path, width, height, kept in rows
    ]
    return Truth(names, truth_images, dict(sorted(unmatched.items())))


def class_map(
    ontology: Ontology, model_names: Sequence[str], scored: Sequence[str]
) -> tuple[dict[int, int], list[str]]:
    """Model class index → scored class index, and the model names that map onto none.

    A model class becomes the nearest of itself and its ancestors that is scored.
    """
    mapping: dict[int, int] = {}
    ignored = []
    for index, name in enumerate(model_names):
        target = ontology.nearest_among(name, scored)
        if target is None:
            ignored.append(name)
        else:
            mapping[index] = scored.index(target)
    return mapping, ignored


def score(
    role: str,
    model: str,
    truth: Truth,
    ontology: Ontology,
    model_names: Sequence[str],
    predictions: Sequence[sv.Detections],
) -> ModelScore:
    """Score predictions (class ids index ``model_names``) against ``truth``."""
    mapping, ignored = class_map(ontology, model_names, truth.names)
    mapped = [_remap(p, mapping) for p in predictions]
    figures = coco_per_class(
        [(i.width, i.height) for i in truth.images],
        [i.boxes for i in truth.images],
        mapped,
        truth.names,
    )
    reachable = set(mapping.values())
    per_class: dict[str, ClassScore | None] = {
        name: figures[name] if index in reachable else None
        for index, name in enumerate(truth.names)
        if name in figures
    }
    return ModelScore(role, model, len(truth.images), per_class, ignored)


def _remap(detections: sv.Detections, mapping: dict[int, int]) -> sv.Detections:
    keep = np.array([int(c) in mapping for c in class_ids(detections)], dtype=np.bool_)
    kept = subset(detections, keep) if len(detections) else detections
    class_id = np.array([mapping[int(c)] for c in class_ids(kept)], dtype=np.int64)
    return sv.Detections(xyxy=kept.xyxy, confidence=confidences(kept), class_id=class_id)


def _detections(rows: list[tuple[int, Any, float]]) -> sv.Detections:
    if not rows:
        return sv.Detections(
            xyxy=np.empty((0, 4), dtype=np.float32),
            confidence=np.empty(0, dtype=np.float32),
            class_id=np.empty(0, dtype=int),
        )
    return sv.Detections(
        xyxy=np.array([r[1] for r in rows], dtype=np.float32).reshape(-1, 4),
        confidence=np.array([r[2] for r in rows], dtype=np.float32),
        class_id=np.array([r[0] for r in rows], dtype=int),
    )


def predict_ultralytics(
    model: Any, paths: Sequence[Path], imgsz: int, device: str, batch: int = 8
) -> list[sv.Detections]:
    """An Ultralytics model's boxes on each image, at the validator's low score floor."""
    detections = []
    for start in range(0, len(paths), batch):
        results = model.predict(
            [str(p) for p in paths[start : start + batch]],
            imgsz=imgsz,
            conf=PREDICT_CONF,
            iou=0.7,
            max_det=300,
            device=device,
            verbose=False,
        )
        for result in results:
            found = sv.Detections.from_ultralytics(result)
            detections.append(
                sv.Detections(xyxy=found.xyxy, confidence=found.confidence, class_id=found.class_id)
            )
    return detections

"""One yardstick for every model: the student, its starting weights and the teacher in
``eval``, and each precision of the student in ``export --int8``, scored on the same
labelled images with classes matched by name through the ontology.

A model's class names (``motorbike``, ``police car``, a COCO model's 80 names) and the
ground truth's names are both read through :meth:`Ontology.match` (class names, prompts
and renames). A prediction of a class the ground truth does not label is scored as its
nearest ancestor that it does label (``police car`` counts as ``car`` against labels that
only know cars). Names that map to nothing are listed, never scored as zero or dropped in
silence, and a class a model has no name for is shown as such, not as AP 0.

One protocol (:func:`protocol`) for every model, whatever made its boxes: boxes from score
:data:`PREDICT_CONF` up, classes merged as above, then class-aware NMS at :data:`NMS_IOU`
*after* the merge, so that a ``car`` and a ``police car`` box on one object are one ``car``
detection, not a hit and a false positive. False positives per class of the model's own
output are counted at the HUD's confidence on its boxes as it outputs them (before the
merge, as the HUD draws them), each matched against the truth of the class it scores as.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import supervision as sv

from edgedistill.coco_eval import coco_per_class
from edgedistill.detections import class_ids, confidences, subset
from edgedistill.metrics import FalsePositiveCount, NamedClassScore, ScoringProtocol
from edgedistill.ontology import Ontology
from edgedistill.yolo_format import read_labels

PREDICT_CONF = 0.001
"""Score floor of predictions scored for AP (Ultralytics' validator uses the same)."""
NMS_IOU = 0.7
"""IoU of the class-aware NMS after classes are merged (Ultralytics' validator default)."""
MAX_DET = 300
"""Boxes per image a model may give (Ultralytics' validator default)."""
FP_IOU = 0.5
"""A detection overlapping a truth box of its class this much is no false positive."""


Labelled = tuple[Path, int, int, Sequence[tuple[str, tuple[float, ...]]]]
"""An image as labelled: its file, width, height and ``(label, xyxy)`` boxes."""


def protocol(fp_conf: float) -> ScoringProtocol:
    """The yardstick's protocol with false positives counted at ``fp_conf`` (``hud.conf``),
    with the line the report says it in."""
    line = (
        f"One protocol for every model: its boxes from score {PREDICT_CONF:g} up, its "
        "classes merged by name into the scored ones (a sub-class into its nearest scored "
        f"ancestor), then class-aware NMS at IoU {NMS_IOU:g} after the merge; AP by "
        f"COCOeval. False positives: a model's own boxes at confidence {fp_conf:g} "
        f"(the HUD's) that overlap no label of the class they score as at IoU "
        f"{FP_IOU:g}; every box of a class the labels do not have counts."
    )
    return ScoringProtocol(
        score_floor=PREDICT_CONF, nms_iou=NMS_IOU, fp_conf=fp_conf, fp_iou=FP_IOU, line=line
    )


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
    per_class: dict[str, NamedClassScore | None]
    """None: the model has no class that maps onto this one."""
    ignored_classes: list[str] = field(default_factory=list)
    """The model's class names that map onto no scored class."""
    false_positives: dict[str, FalsePositiveCount] = field(default_factory=dict)
    """Per class of the model's output that the ontology knows."""

    @property
    def comparable(self) -> list[str]:
        return [name for name, score in self.per_class.items() if score is not None]

    @property
    def map50(self) -> float:
        """Mean AP50 over the classes this model can name."""
        return mean_ap(self.per_class)[0]

    @property
    def map50_95(self) -> float:
        return mean_ap(self.per_class)[1]

    def to_json(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "model": self.model,
            "images": self.images,
            "map50": self.map50,
            "map50_95": self.map50_95,
            "classes_scored": len(self.comparable),
            "per_class": {
                name: None if s is None else s.model_dump() for name, s in self.per_class.items()
            },
            "ignored_classes": self.ignored_classes,
            "false_positives": {n: f.model_dump() for n, f in self.false_positives.items()},
        }


def mean_ap(per_class: dict[str, NamedClassScore | None]) -> tuple[float, float]:
    """Mean AP50 and AP50-95 over the classes with figures (0 without any)."""
    scores = [s for s in per_class.values() if s is not None]
    if not scores:
        return 0.0, 0.0
    return (
        round(float(np.mean([s.ap50 for s in scores])), 4),
        round(float(np.mean([s.ap50_95 for s in scores])), 4),
    )


def truth_from_labels(ontology: Ontology, images: Iterable[Labelled]) -> Truth:
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
        TruthImage(path, width, height, detections_of([(names.index(n), b, 1.0) for n, b in kept]))
        for path, width, height, kept in rows
    ]
    return Truth(names, truth_images, dict(sorted(unmatched.items())))


def yolo_labelled(pairs: Iterable[tuple[Path, Path]], names: Sequence[str]) -> list[Labelled]:
    """``(image, YOLO label file)`` pairs as labelled images, class ids named by ``names``."""
    from PIL import Image

    rows: list[Labelled] = []
    for path, label in pairs:
        with Image.open(path) as image:
            width, height = image.size
        boxes = read_labels(label, width, height)
        ids = class_ids(boxes)
        named = [(names[int(c)], tuple(b)) for b, c in zip(boxes.xyxy, ids, strict=True)]
        rows.append((path, width, height, named))
    return rows


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
    fp_conf: float,
) -> ModelScore:
    """Score predictions (class ids index ``model_names``) against ``truth`` by the
    protocol, false positives counted at ``fp_conf``."""
    mapping, ignored = class_map(ontology, model_names, truth.names)
    per_class = class_scores(truth, mapping, predictions)
    known = [i for i, name in enumerate(model_names) if ontology.match(name) is not None]
    wrong = false_positives(truth, mapping, known, predictions, fp_conf)
    return ModelScore(
        role,
        model,
        len(truth.images),
        per_class,
        ignored,
        {model_names[i]: wrong[i] for i in known},
    )


def class_scores(
    truth: Truth, mapping: dict[int, int], predictions: Sequence[sv.Detections]
) -> dict[str, NamedClassScore | None]:
    """COCO figures of each scored class with truth boxes, of predictions merged by
    :func:`merge` through ``mapping``; None for a class no model class maps onto."""
    figures = coco_per_class(
        [(i.width, i.height) for i in truth.images],
        [i.boxes for i in truth.images],
        [merge(p, mapping) for p in predictions],
        truth.names,
    )
    reachable = set(mapping.values())
    return {
        name: figures[name] if index in reachable else None
        for index, name in enumerate(truth.names)
        if name in figures
    }


def merge(detections: sv.Detections, mapping: dict[int, int]) -> sv.Detections:
    """A model's boxes as the yardstick scores them: from :data:`PREDICT_CONF` up, classes
    mapped onto the scored ones (others dropped), then class-aware NMS at :data:`NMS_IOU`:
    a ``car`` and a ``police car`` on one object are one ``car``."""
    floored = subset(detections, confidences(detections) >= PREDICT_CONF)
    return _remap(floored, mapping).with_nms(threshold=NMS_IOU, class_agnostic=False)


def false_positives(
    truth: Truth,
    mapping: dict[int, int],
    classes: Sequence[int],
    predictions: Sequence[sv.Detections],
    conf: float,
) -> dict[int, FalsePositiveCount]:
    """Per model class in ``classes``: its boxes at ``conf`` or more, and those that overlap
    no truth box of the class they score as (``mapping``) at :data:`FP_IOU`."""
    found = np.zeros(max(classes, default=-1) + 1, dtype=int)
    wrong = np.zeros_like(found)
    for image, predicted in zip(truth.images, predictions, strict=True):
        confident = subset(predicted, confidences(predicted) >= conf)
        confident = subset(confident, np.isin(class_ids(confident), classes))
        if not len(confident):
            continue
        target = np.array([mapping.get(int(c), -1) for c in class_ids(confident)])
        ious = sv.box_iou_batch(confident.xyxy, image.boxes.xyxy.reshape(-1, 4))
        same = target[:, None] == class_ids(image.boxes)[None, :]
        matched = ((ious >= FP_IOU) & same).any(axis=1)
        np.add.at(found, class_ids(confident), 1)
        np.add.at(wrong, class_ids(confident)[~matched], 1)
    images = max(len(truth.images), 1)
    return {
        index: FalsePositiveCount(
            scored_as=truth.names[mapping[index]] if index in mapping else None,
            detections=int(found[index]),
            false_positives=int(wrong[index]),
            per_image=round(float(wrong[index]) / images, 4),
        )
        for index in classes
    }


def _remap(detections: sv.Detections, mapping: dict[int, int]) -> sv.Detections:
    keep = np.array([int(c) in mapping for c in class_ids(detections)], dtype=np.bool_)
    kept = subset(detections, keep) if len(detections) else detections
    class_id = np.array([mapping[int(c)] for c in class_ids(kept)], dtype=np.int64)
    return sv.Detections(xyxy=kept.xyxy, confidence=confidences(kept), class_id=class_id)


def detections_of(rows: Sequence[tuple[int, Any, float]]) -> sv.Detections:
    """``(class id, xyxy, score)`` rows as detections (empty ones typed alike)."""
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
    model: Any, paths: Sequence[Path], imgsz: int | tuple[int, int], device: str, batch: int = 8
) -> list[sv.Detections]:
    """An Ultralytics model's boxes on each image, at the validator's low score floor
    (``batch`` 1 for an exported file with a fixed batch of one)."""
    detections = []
    for start in range(0, len(paths), batch):
        results = model.predict(
            [str(p) for p in paths[start : start + batch]],
            imgsz=imgsz,
            conf=PREDICT_CONF,
            iou=NMS_IOU,
            max_det=MAX_DET,
            device=device,
            verbose=False,
        )
        for result in results:
            found = sv.Detections.from_ultralytics(result)
            detections.append(
                sv.Detections(xyxy=found.xyxy, confidence=found.confidence, class_id=found.class_id)
            )
    return detections

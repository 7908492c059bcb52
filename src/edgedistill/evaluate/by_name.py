"""The student on the teacher's held-out labels through the yardstick: the whole
comparison for weights whose classes are not the dataset's (``eval --weights
a-coco-model.pt``: Ultralytics' validator would match classes by index), and the false
positives per class for every student."""

from __future__ import annotations

from typing import Any

from PIL import Image

from edgedistill.detections import class_ids
from edgedistill.evaluate.validation import Scoring
from edgedistill.evaluate.yardstick import (
    ModelScore,
    predict_ultralytics,
    score,
    truth_from_labels,
)
from edgedistill.metrics import ClassScores, Comparison, FalsePositiveCount
from edgedistill.ontology import Ontology
from edgedistill.yolo_format import read_labels as read_yolo_labels


def same_classes(model: Any, dataset_names: list[str]) -> bool:
    """True when the model's class list is the dataset's, index for index."""
    return list(model.names.values()) == dataset_names


def on_teacher_labels(
    ontology: Ontology, run: Scoring, split: str, dataset_names: list[str], fp_conf: float
) -> ModelScore:
    """The model on the teacher's labels of a split of its dataset, classes matched by
    name, false positives counted at ``fp_conf``."""
    root = run.record.root
    images = sorted((root / "images" / split).glob("*.jpg"))
    rows = []
    for path in images:
        with Image.open(path) as image:
            width, height = image.size
        labels = read_yolo_labels(root / "labels" / split / f"{path.stem}.txt", width, height)
        named = [
            (dataset_names[int(c)], tuple(b))
            for b, c in zip(labels.xyxy, class_ids(labels), strict=True)
        ]
        rows.append((path, width, height, named))
    truth = truth_from_labels(ontology, rows)
    names = list(run.model.names.values())
    found = predict_ultralytics(run.model, images, run.imgsz, run.device)
    return score("student", "", truth, ontology, names, found, fp_conf)


def by_name(result: ModelScore) -> Comparison:
    """The validator's figures that COCOeval gives, per class matched by name."""
    return Comparison(
        map50=result.map50,
        map50_95=result.map50_95,
        matched_by_name=True,
        per_class={
            name: ClassScores(precision=None, recall=s.recall, ap50=s.ap50, ap50_95=s.ap50_95)
            for name, s in result.per_class.items()
            if s is not None
        },
        false_positives=false_positive_counts(result),
    )


def false_positive_counts(result: ModelScore) -> dict[str, FalsePositiveCount]:
    """A yardstick score's false positives per class, as ``metrics.json`` keeps them."""
    return {name: FalsePositiveCount(**vars(f)) for name, f in result.false_positives.items()}

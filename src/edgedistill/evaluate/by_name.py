"""The student on the teacher's labels of the scored split (held out, else the training
frames) through the yardstick: the whole comparison for weights whose classes are not the
dataset's (``eval --weights a-coco-model.pt``: Ultralytics' validator would match classes
by index), and the false positives per class for every student."""

from __future__ import annotations

from typing import Any

from edgedistill.evaluate.validation import Scoring
from edgedistill.metrics import ClassScores, Comparison
from edgedistill.ontology import Ontology
from edgedistill.yardstick import (
    ModelScore,
    predict_ultralytics,
    score,
    truth_from_labels,
    yolo_labelled,
)


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
    pairs = [(path, root / "labels" / split / f"{path.stem}.txt") for path in images]
    truth = truth_from_labels(ontology, yolo_labelled(pairs, dataset_names))
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
        false_positives=result.false_positives,
    )

"""Student vs teacher for weights whose classes are not the dataset's (``eval --weights
a-coco-model.pt``): Ultralytics' validator would match classes by index, so the teacher's
labels of the scored split are scored on the yardstick instead, by name through the
ontology."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from edgedistill.detections import class_ids
from edgedistill.evaluate.yardstick import predict_ultralytics, score, truth_from_labels
from edgedistill.metrics import ClassScores, Comparison
from edgedistill.ontology import Ontology
from edgedistill.yolo_format import read_labels as read_yolo_labels


def same_classes(model: Any, dataset_names: list[str]) -> bool:
    """True when the model's class list is the dataset's, index for index."""
    return list(model.names.values()) == dataset_names


def vs_teacher_by_name(
    ontology: Ontology,
    root: Path,
    split: str,
    dataset_names: list[str],
    model: Any,
    imgsz: int,
    device: str,
) -> Comparison:
    """The validator's figures that COCOeval gives, per class matched by name."""
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
    names = list(model.names.values())
    result = score(
        "student", "", truth, ontology, names, predict_ultralytics(model, images, imgsz, device)
    )
    return Comparison(
        map50=result.map50,
        map50_95=result.map50_95,
        matched_by_name=True,
        per_class={
            name: ClassScores(precision=None, recall=s.recall, ap50=s.ap50, ap50_95=s.ap50_95)
            for name, s in result.per_class.items()
            if s is not None
        },
    )

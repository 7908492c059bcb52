"""COCO mAP of detections against ground truth, with pycocotools' COCOeval."""

from __future__ import annotations

import contextlib
import io
from typing import Any

import supervision as sv
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval


def coco_map(
    sizes: list[tuple[int, int]],
    truths: list[sv.Detections],
    predictions: list[sv.Detections],
    names: list[str],
) -> dict[str, float]:
    """mAP50 and mAP50-95 over images of ``sizes`` (width, height); class ids index ``names``."""
    images, annotations, results = [], [], []
    for image_id, ((width, height), truth, predicted) in enumerate(
        zip(sizes, truths, predictions, strict=True), start=1
    ):
        images.append({"id": image_id, "width": width, "height": height})
        for box, cls in zip(truth.xyxy, truth.class_id, strict=True):
            annotations.append(_box(box, cls, image_id, len(annotations) + 1))
        for box, cls, score in zip(
            predicted.xyxy, predicted.class_id, predicted.confidence, strict=True
        ):
            results.append({**_box(box, cls, image_id, 0), "score": float(score)})
    if not annotations or not results:
        return {"map50": 0.0, "map50_95": 0.0}
    truth_set = COCO()
    truth_set.dataset = {
        "images": images,
        "annotations": annotations,
        "categories": [{"id": i + 1, "name": n} for i, n in enumerate(names)],
    }
    with contextlib.redirect_stdout(io.StringIO()):  # COCOeval prints its tables
        truth_set.createIndex()
        evaluation = COCOeval(truth_set, truth_set.loadRes(results), "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return {
        "map50": round(max(float(evaluation.stats[1]), 0.0), 4),
        "map50_95": round(max(float(evaluation.stats[0]), 0.0), 4),
    }


def _box(box: Any, cls: int, image_id: int, annotation_id: int) -> dict[str, Any]:
    x1, y1, x2, y2 = (float(v) for v in box)
    return {
        "id": annotation_id,
        "image_id": image_id,
        "category_id": int(cls) + 1,
        "bbox": [x1, y1, x2 - x1, y2 - y1],
        "area": (x2 - x1) * (y2 - y1),
        "iscrowd": 0,
    }

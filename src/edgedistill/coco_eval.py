"""COCO mAP of detections against ground truth, with pycocotools' COCOeval."""

from __future__ import annotations

import contextlib
import io
from typing import Any

import numpy as np
import supervision as sv
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from edgedistill.detections import class_ids, confidences
from edgedistill.metrics import NamedClassScore


def coco_map(
    sizes: list[tuple[int, int]],
    truths: list[sv.Detections],
    predictions: list[sv.Detections],
    names: list[str],
) -> dict[str, float]:
    """mAP50 and mAP50-95 over images of ``sizes`` (width, height); class ids index ``names``."""
    evaluation = _evaluated(sizes, truths, predictions, names)
    if evaluation is None:
        return {"map50": 0.0, "map50_95": 0.0}
    return {
        "map50": round(max(float(evaluation.stats[1]), 0.0), 4),
        "map50_95": round(max(float(evaluation.stats[0]), 0.0), 4),
    }


def coco_per_class(
    sizes: list[tuple[int, int]],
    truths: list[sv.Detections],
    predictions: list[sv.Detections],
    names: list[str],
) -> dict[str, NamedClassScore]:
    """Per-class COCO figures of the classes in ``names`` that have ground-truth boxes.

    A class without predictions scores 0; a class without ground truth is left out.
    """
    instances = np.bincount(
        np.concatenate([class_ids(t) for t in truths] + [np.empty(0, dtype=int)]).astype(int),
        minlength=len(names),
    )
    evaluation = _evaluated(sizes, truths, predictions, names)
    scores = {}
    for index, name in enumerate(names):
        if not instances[index]:
            continue
        if evaluation is None:
            scores[name] = NamedClassScore(
                ap50=0.0, ap50_95=0.0, recall=0.0, instances=int(instances[index])
            )
            continue
        precision = evaluation.eval["precision"][:, :, index, 0, -1]  # IoU x recall, all areas
        recall = evaluation.eval["recall"][0, index, 0, -1]
        scores[name] = NamedClassScore(
            ap50=round(_mean_valid(precision[0]), 4),
            ap50_95=round(_mean_valid(precision), 4),
            recall=round(max(float(recall), 0.0), 4),
            instances=int(instances[index]),
        )
    return scores


def _mean_valid(values: np.ndarray) -> float:
    """COCOeval marks cells it could not fill with -1; they count as 0 precision."""
    return float(np.clip(values, 0.0, None).mean()) if values.size else 0.0


def _evaluated(
    sizes: list[tuple[int, int]],
    truths: list[sv.Detections],
    predictions: list[sv.Detections],
    names: list[str],
) -> COCOeval | None:
    """COCOeval after evaluate/accumulate/summarize; None without truths or predictions."""
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for image_id, ((width, height), truth, predicted) in enumerate(
        zip(sizes, truths, predictions, strict=True), start=1
    ):
        images.append({"id": image_id, "width": width, "height": height})
        for box, cls in zip(truth.xyxy, class_ids(truth), strict=True):
            annotations.append(_box(box, cls, image_id, len(annotations) + 1))
        for box, cls, score in zip(
            predicted.xyxy, class_ids(predicted), confidences(predicted), strict=True
        ):
            results.append({**_box(box, cls, image_id, 0), "score": float(score)})
    if not annotations or not results:
        return None
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
    return evaluation


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

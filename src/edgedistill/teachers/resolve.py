"""Apply the ontology to a frame's raw teacher output: classes, thresholds, NMS.

Pure functions: the same cached raw output gives new labels whenever the
ontology or the ``label`` settings change, without calling the teacher.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import supervision as sv

from edgedistill.config import LabelConfig
from edgedistill.detections import class_ids, subset
from edgedistill.ontology import Ontology
from edgedistill.teachers.base import RawDetection


@dataclass
class Resolution:
    """A frame's labels and the teacher class names no class claimed."""

    detections: sv.Detections
    unknown_labels: set[str] = field(default_factory=set)


def resolve(
    raw: Iterable[RawDetection], ontology: Ontology, settings: LabelConfig, prompted: bool
) -> Resolution:
    """Labels for one frame, as ``sv.Detections``.

    ``class_id`` indexes ``ontology.student_names``; ``data["class_name"]`` holds the
    student name and ``data["rle"]`` the mask (COCO RLE) or None.
    """
    unknown: set[str] = set()
    kept: list[tuple[RawDetection, int]] = []
    for detection in raw:
        cls = (ontology.class_for_prompt if prompted else ontology.match)(detection.label)
        if cls is None:
            unknown.add(detection.label)
            continue
        threshold = cls.confidence if cls.confidence is not None else settings.confidence
        x1, y1, x2, y2 = detection.box
        if detection.score < threshold or (x2 - x1) * (y2 - y1) < settings.min_box_area:
            continue
        kept.append((detection, ontology.names.index(cls.name)))
    detections = _to_detections(kept)
    detections = _prefer_specific(detections, ontology, settings.parent_iou)
    if settings.nms != "none":
        detections = detections.with_nms(threshold=settings.nms_iou, class_agnostic=False)
    if settings.nms == "across_classes":
        detections = detections.with_nms(threshold=settings.nms_iou, class_agnostic=True)
    return Resolution(_to_student_classes(detections, ontology), unknown)


def _to_detections(kept: list[tuple[RawDetection, int]]) -> sv.Detections:
    if not kept:
        empty = sv.Detections.empty()
        empty.data = {"rle": np.empty(0, dtype=object)}
        return empty
    rles = np.empty(len(kept), dtype=object)
    rles[:] = [detection.rle for detection, _ in kept]
    return sv.Detections(
        xyxy=np.array([d.box for d, _ in kept], dtype=np.float32),
        confidence=np.array([d.score for d, _ in kept], dtype=np.float32),
        class_id=np.array([index for _, index in kept], dtype=int),
        data={"rle": rles},
    )


def _prefer_specific(detections: sv.Detections, ontology: Ontology, iou: float) -> sv.Detections:
    """Where a class and its ancestor cover one object, drop the ancestor's detection."""
    if len(detections) < 2:
        return detections
    overlaps = sv.box_iou_batch(detections.xyxy, detections.xyxy)
    names = [ontology.names[i] for i in class_ids(detections)]
    general = np.zeros(len(detections), dtype=bool)
    for i, j in zip(*np.nonzero(overlaps >= iou), strict=True):
        if i != j and ontology.is_more_specific(names[j], names[i]):
            general[i] = True
    return subset(detections, ~general)


def _to_student_classes(detections: sv.Detections, ontology: Ontology) -> sv.Detections:
    students = ontology.student_names
    output = [ontology.output_name(ontology.names[i]) for i in class_ids(detections)]
    detections.class_id = np.array([students.index(n) for n in output], dtype=int)
    detections.data["class_name"] = np.array(output, dtype=object)
    return detections

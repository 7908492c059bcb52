"""Detections drawn on images: the review gallery, report samples and model cards."""

from __future__ import annotations

import cv2
import numpy as np
import supervision as sv

from edgedistill.detections import class_ids, confidences
from edgedistill.masks import rle_to_mask

THUMBNAIL_WIDTH = 360


def annotate(image: np.ndarray, detections: sv.Detections, names: list[str]) -> np.ndarray:
    """The image with masks, boxes and class names drawn (BGR)."""
    scene = image.copy()
    if len(detections) == 0:
        return scene
    rles = detections.data["rle"]
    classes = class_ids(detections)
    if all(rles):
        masks = np.stack([rle_to_mask(r) for r in rles])
        shown = sv.Detections(xyxy=detections.xyxy, mask=masks, class_id=classes)
        scene = sv.MaskAnnotator(opacity=0.35).annotate(scene, shown)
    scene = sv.BoxAnnotator(thickness=2).annotate(scene, detections)
    labels = [f"{names[c]} {s:.2f}" for c, s in zip(classes, confidences(detections), strict=True)]
    return sv.LabelAnnotator(text_scale=0.4, text_padding=3).annotate(scene, detections, labels)


def thumbnail(image: np.ndarray) -> np.ndarray:
    """At most ``THUMBNAIL_WIDTH`` wide, aspect kept."""
    height, width = image.shape[:2]
    if width <= THUMBNAIL_WIDTH:
        return image
    size = (THUMBNAIL_WIDTH, round(height * THUMBNAIL_WIDTH / width))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def captioned(image: np.ndarray, text: str) -> np.ndarray:
    """``text`` in a bar above the image, so that a pair reads without its caption."""
    bar = np.full((24, image.shape[1], 3), 32, dtype=np.uint8)
    cv2.putText(bar, text, (6, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 1, cv2.LINE_AA)
    return np.vstack([bar, image])

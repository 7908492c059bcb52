"""The student's raw output as boxes: Ultralytics' NMS, in numpy.

Two output layouts exist: ``[1, 4+nc, N]`` (YOLO11, and YOLO26's one-to-many head)
holds a box and every class score per anchor and needs NMS; ``[1, 300, 6]`` (YOLO26's
end-to-end head, or any export with NMS inside the graph) holds final rows
``x1, y1, x2, y2, score, class`` and needs only the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_DETECTIONS = 300
"""Ultralytics' ``max_det``."""
MAX_CANDIDATES = 30_000
"""Ultralytics' ``max_nms``: the most boxes that go into NMS."""
CLASS_OFFSET = 7680.0
"""Ultralytics' ``max_wh``: boxes of different classes moved apart so that NMS is per class."""


@dataclass(frozen=True)
class Boxes:
    """Detections in model-input pixels."""

    xyxy: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray

    @classmethod
    def empty(cls) -> Boxes:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, int))


def is_end_to_end(output_shape: tuple[int, ...]) -> bool:
    """Final rows (``[1, 300, 6]``) rather than anchors (``[1, 4+nc, N]``): Ultralytics' rule."""
    return output_shape[-1] == 6


def decode_end_to_end(rows: np.ndarray, conf: float) -> Boxes:
    """The rows of one image (``[300, 6]``) scoring above ``conf``."""
    kept = rows[rows[:, 4] > conf][:MAX_DETECTIONS]
    return Boxes(kept[:, :4], kept[:, 4], kept[:, 5].astype(int))


def decode_anchors(output: np.ndarray, conf: float, iou: float) -> Boxes:
    """One image's anchors (``[4+nc, N]``): best class per anchor above ``conf``, then
    class-aware NMS at ``iou``, the ``MAX_DETECTIONS`` best kept."""
    class_scores = output[4:]
    best = class_scores.max(axis=0)
    candidates = np.flatnonzero(best > conf)
    if not candidates.size:
        return Boxes.empty()
    scores = best[candidates]
    if candidates.size > MAX_CANDIDATES:
        top = np.argsort(-scores, kind="stable")[:MAX_CANDIDATES]
        candidates, scores = candidates[top], scores[top]
    classes = class_scores[:, candidates].argmax(axis=0)
    xyxy = _xywh_to_xyxy(output[:4, candidates].T)
    keep = nms(xyxy + (classes * CLASS_OFFSET)[:, None], scores, iou)[:MAX_DETECTIONS]
    return Boxes(xyxy[keep], scores[keep], classes[keep])


def nms(xyxy: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Indices of the boxes greedy NMS keeps, best first: a box goes when it overlaps a
    better kept one by more than ``iou`` (torchvision's rule)."""
    x1, y1, x2, y2 = xyxy.T
    areas = (x2 - x1) * (y2 - y1)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(best)
        width = np.minimum(x2[best], x2[rest]) - np.maximum(x1[best], x1[rest])
        height = np.minimum(y2[best], y2[rest]) - np.maximum(y1[best], y1[rest])
        inter = width.clip(min=0) * height.clip(min=0)
        union = areas[best] + areas[rest] - inter
        overlap = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        order = rest[overlap <= iou]
    return np.asarray(keep, dtype=int)


def _xywh_to_xyxy(xywh: np.ndarray) -> np.ndarray:
    half = xywh[:, 2:] / 2
    return np.concatenate([xywh[:, :2] - half, xywh[:, :2] + half], axis=1)

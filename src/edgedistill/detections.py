"""Typed access to the parts of ``sv.Detections`` that supervision declares optional.

Every ``Detections`` made here carries classes and scores: the teacher's (resolved from
raw detections), a label file's, a model's (``from_ultralytics``). One without them is a
bug, said by ValueError rather than an index error far away.
"""

from __future__ import annotations

import numpy as np
import supervision as sv


def class_ids(detections: sv.Detections) -> np.ndarray:
    """The class index of each detection."""
    if detections.class_id is None:
        raise ValueError("detections without class ids")
    return detections.class_id


def confidences(detections: sv.Detections) -> np.ndarray:
    """The score of each detection."""
    if detections.confidence is None:
        raise ValueError("detections without confidences")
    return detections.confidence


def subset(detections: sv.Detections, keep: np.ndarray) -> sv.Detections:
    """The detections where the boolean mask ``keep`` is true."""
    # supervision's __getitem__ has no overloads: any index is typed as a possible data column.
    return detections[keep]  # type: ignore[return-value]
